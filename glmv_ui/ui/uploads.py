"""Which server files a caller may name: the one rule every file path from a request meets.

A caller names files by path (Gradio's FileData: the chat input's files, the import button, any
endpoint taking a file). Such a path is used only if its real path (symlinks followed) lies in
Gradio's upload folder, where uploads and every file Gradio served land, or in a folder the
app made for this caller (its session's media folder); anything else is refused by its base
name before a byte of it is read, with the same words whether or not the file exists.

:func:`caller_path` is the rule. :class:`~glmv_ui.ui.web.FileGuard` applies it to every
FileData in every request's JSON body before Gradio sees the request (Gradio would otherwise
copy the file into its cache first), and the handlers apply it again to the paths they read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import MediaError
from ..reasons import reason

__all__ = ["CallerPathError", "caller_path", "inside", "upload_folder"]


class CallerPathError(MediaError):
    """A named file is not one this caller uploaded or was shown."""


def upload_folder() -> str:
    """Gradio's upload folder (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``), real path."""
    from gradio.utils import get_upload_folder

    return os.path.realpath(get_upload_folder())


def inside(real: str, root: str | Path) -> bool:
    """``real`` (a real path) lies strictly below the folder ``root``."""
    base = os.path.realpath(root).rstrip("/")
    return real.startswith(base + "/")


def base_name(path: str) -> str:
    """The name shown for a refused path: its last segment only, never a folder."""
    name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:120] or "file"


def caller_path(path: object, own: Iterable[str | Path] = ()) -> str:
    """The real path of a file a caller named, if it lies in Gradio's upload folder or in one
    of ``own`` (folders the app made for this caller); else :class:`CallerPathError`, naming
    only the base name. Nothing is read: the answer is the same for a missing file."""
    text = path if isinstance(path, str) else ""
    refused = CallerPathError(base_name(text), reason("file.not_uploaded"))
    if not text or "\x00" in text or "://" in text or not os.path.isabs(text):
        raise refused
    try:
        real = os.path.realpath(text)
    except (OSError, ValueError):
        raise refused from None
    if any(inside(real, root) for root in (upload_folder(), *own)):
        return real
    raise refused
