"""Files attached to the message being written: read each one, say what will be used and what it
costs, and say plainly which were refused and why, before anything is sent.

Each file is read on its own (so a refusal names its file and the others still count), against
the conversation's media so far. An encrypted PDF is not a refusal: it waits for its password.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import GlmvError, MediaError, PasswordRequiredError
from ..media.budget import check_budget, estimate_visual_tokens
from ..media.parts import MediaPart
from ..reasons import reason
from .i18n import t
from .reasons_zh import reason_text
from .settings import MediaChoice
from .strips import display_name, group_caption, group_parts

__all__ = ["Attachments", "FileOutcome", "attachment_report", "read_attachments"]

log = logging.getLogger("glmv_ui")


@dataclass(frozen=True)
class FileOutcome:
    """One attached file: the parts read from it, or why it cannot be used."""

    path: str
    name: str
    parts: tuple[MediaPart, ...] = ()
    error: GlmvError | None = None

    @property
    def needs_password(self) -> bool:
        return isinstance(self.error, PasswordRequiredError)

    @property
    def wrong_password(self) -> bool:
        """A password was given and it does not open the file."""
        error = self.error
        return (
            isinstance(error, PasswordRequiredError) and error.wording.key == "pdf.wrong_password"
        )

    @property
    def refused(self) -> bool:
        return self.error is not None and not self.needs_password


@dataclass(frozen=True)
class Attachments:
    files: tuple[FileOutcome, ...] = ()

    @property
    def parts(self) -> list[MediaPart]:
        return [p for f in self.files for p in f.parts]

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.refused]

    @property
    def waiting(self) -> list[FileOutcome]:
        """Encrypted PDFs that wait for a password."""
        return [f for f in self.files if f.needs_password]

    @property
    def ready(self) -> bool:
        """Every file was read: the message can be sent."""
        return all(f.error is None for f in self.files)


def read_attachments(
    paths: Sequence[str],
    existing: Sequence[MediaPart],
    choice: MediaChoice,
    password: str = "",
    check: Callable[[str], str] | None = None,
) -> Attachments:
    """Read each file on its own, in order, each against the media before it. ``check`` gives
    the path to read for a path a caller named, or refuses it (a :class:`GlmvError`) before
    anything is read (see :func:`glmv_ui.ui.uploads.caller_path`)."""
    from ..media import ingest
    from ..media.inflight import DECODING, decode_cost

    outcomes = []
    before = list(existing)
    for path in paths:
        name = display_name(os.path.basename(path))
        try:
            real = check(path) if check is not None else path
            # Shared by all sessions: a bounded number of reads, within one memory budget.
            with DECODING.hold(decode_cost(real, choice.limits)):
                parts = ingest(
                    [real],
                    choice.limits,
                    options=choice.options(password or None),
                    existing=before,
                )
        except GlmvError as exc:
            # An ordinary refusal: a line in the log, never a traceback.
            log.info("upload refused: %s", exc)
            outcomes.append(FileOutcome(path, name, error=exc))
            continue
        except OSError as exc:
            # The file went away or cannot be opened: the caller gets its name and a plain
            # reason, never the library's text (which names server paths).
            log.warning("upload %s could not be read: %s", name, exc)
            outcomes.append(FileOutcome(path, name, error=MediaError(name, reason("file.missing"))))
            continue
        before += parts
        outcomes.append(FileOutcome(path, name, tuple(parts)))
    return Attachments(tuple(outcomes))


def refusal_text(outcome: FileOutcome, lang: str) -> str:
    """Why a file was not attached, in ``lang``, after its name."""
    error = outcome.error
    if error is None:
        return ""
    if isinstance(error, MediaError) and error.wording.key:
        # A templated reason about a file reads after "it" (see glmv_ui.reasons).
        return t(
            lang, "refused_file", name=outcome.name, reason=reason_text(error, lang, subject=False)
        )
    return t(lang, "refused_other", name=outcome.name, reason=reason_text(error, lang))


def attachment_report(
    att: Attachments, existing: Sequence[MediaPart], choice: MediaChoice, lang: str
) -> str:
    """What will be used from each file and what it costs, for the message and the
    conversation, labelled as such; a warning only where one applies."""
    lines: list[str] = []
    for outcome in att.files:
        if outcome.parts:
            for group in group_parts(list(outcome.parts)):
                caption = group_caption(group, lang).replace("\n\n", " — ")
                lines.append(f"- {caption}")
        elif outcome.needs_password:
            key = "password_wrong" if outcome.wrong_password else "password_needed"
            lines.append(f"- {t(lang, key, name=outcome.name)}")
    parts = att.parts
    if parts:
        report = check_budget(parts, choice.limits, existing)
        message = estimate_visual_tokens(parts)
        earlier = report.visual_tokens - message
        lines.append("")  # the costs are paragraphs of their own, after the list
        lines.append(t(lang, "cost_message", tokens=message) + "  ")
        lines.append(
            t(
                lang,
                "cost_conversation",
                earlier=earlier,
                total=report.visual_tokens,
                budget=report.budget,
            )
        )
        if report.visual_tokens > 0.8 * report.budget:
            lines.append(f"\n⚠ {t(lang, 'near_budget')}")
    return "\n".join(lines)
