"""The exception tree of glmv_ui.

Every error the package raises on purpose derives from :class:`GlmvError` and carries a message
written for the person using the demo or notebook: what happened and what to do next. The UI edge
turns these into ``gr.Error`` / ``gr.Warning``; notebooks print the message; nothing swallows them.

An error keeps its message as data too: ``subject`` (a file name, or a :class:`Reason` such as
"c.json (turn 1, part 2, photo.png)") and ``wording`` (a :class:`Reason`: template key and
parameters, see :mod:`glmv_ui.reasons`), so the app can write it in the user's language;
``str(exc)`` is always the English text, ``"subject: wording"``.

    GlmvError
    ├── ConfigError                 bad option values (unknown model family, bad sampling value)
    ├── MissingDependencyError      an optional package is not installed (names the package)
    ├── ModelLoadError              the model could not be loaded
    │   ├── WeightsUnavailableError   no weights reachable (offline, bad id or path)
    │   └── InsufficientMemoryError   not enough RAM / GPU memory for the chosen option
    ├── MediaError                  an upload was refused (names the file and the reason)
    │   ├── UnsupportedMediaError     the format is not supported
    │   ├── PasswordRequiredError     an encrypted PDF needs (another) password
    │   └── MediaBudgetError          the uploads do not fit the rules or the context budget
    ├── GenerationError             generation failed (the worker's exception is chained)
    │   └── EngineConnectionError     a remote engine could not be reached or answered badly
    └── ConversationError           an action that the conversation state does not allow
"""

from __future__ import annotations

from .reasons import Reason, plain

__all__ = [
    "ConfigError",
    "ConversationError",
    "EngineConnectionError",
    "GenerationError",
    "GlmvError",
    "InsufficientMemoryError",
    "MediaBudgetError",
    "MediaError",
    "MissingDependencyError",
    "ModelLoadError",
    "PasswordRequiredError",
    "UnsupportedMediaError",
    "WeightsUnavailableError",
]


class GlmvError(Exception):
    """Base class: the message is meant to be shown to the user as it is.

    ``message`` is a :class:`Reason` (or, where no template exists yet, plain English text);
    ``subject`` names what it is about, shown before it.
    """

    def __init__(self, message: str | Reason = "", *, subject: str | Reason = "") -> None:
        self.subject = subject
        self.wording = message if isinstance(message, Reason) else plain(str(message))
        english = str(self.wording)
        super().__init__(f"{subject}: {english}" if str(subject) else english)


class ConfigError(GlmvError, ValueError):
    pass


class MissingDependencyError(GlmvError, ImportError):
    def __init__(self, package: str, purpose: str, extra: str = "") -> None:
        self.package = package
        hint = extra or f"pip install {package}"
        super().__init__(f"{purpose} needs the '{package}' package, which is not installed: {hint}")


class ModelLoadError(GlmvError):
    pass


class WeightsUnavailableError(ModelLoadError):
    pass


class InsufficientMemoryError(ModelLoadError, MemoryError):
    pass


class MediaError(GlmvError):
    """An upload was refused. ``source`` is the file name shown to the user and ``reason`` the
    English text of why; ``subject`` and ``wording`` keep both as data."""

    def __init__(self, source: str | Reason, reason: str | Reason) -> None:
        super().__init__(reason, subject=source)
        self.source = str(source)
        self.reason = str(self.wording)


class UnsupportedMediaError(MediaError):
    pass


class PasswordRequiredError(MediaError):
    pass


class MediaBudgetError(MediaError):
    pass


class GenerationError(GlmvError, RuntimeError):
    pass


class EngineConnectionError(GenerationError):
    pass


class ConversationError(GlmvError):
    pass
