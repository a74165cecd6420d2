"""The one entry point from uploaded files to model-ready parts, shared by the app, notebooks, CLI.

``ingest`` recognises each file by its content (magic bytes; the extension only breaks ties), hands
it to the reader for its kind, and applies the conversation rules of :mod:`.rules` (the ones an
imported conversation meets too) before anything reaches a model:

* images and a video never share a conversation (the model's processor cannot mix them), and a
  conversation holds at most one video (its ~30k visual tokens fill most of a context);
* at most ``limits.max_images`` images, PDF pages and slides counted as images: a document is cut
  to the room left (with a note saying which pages were used);
* the estimated visual tokens must fit ``context_tokens - reserve_tokens``; for PDFs and decks
  this is checked from the page sizes before any page is rendered.

A video is checked for damage before the rules: its container is opened (nothing decoded), so a
damaged second video is refused as damaged, not as one video too many.

A batch is all or nothing: the first refusal raises a :class:`MediaError` naming the file and the
reason (library errors are chained, never shown raw), and nothing from that batch is kept.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Sequence
from typing import Literal

from ..config import MediaLimits
from ..errors import MediaError, UnsupportedMediaError
from ..reasons import reason
from .archive import check_directory, read_directory
from .budget import DEFAULT_LIMITS, estimate_visual_tokens
from .images import load_image
from .options import MediaOptions
from .parts import MediaPart
from .pdf import render_pdf
from .rules import admit, check_file_size, check_visual_budget, count_kinds
from .slides import render_slides
from .video import check_video, sample_video

__all__ = ["Kind", "ingest", "sniff"]

Kind = Literal["image", "pdf", "slides", "video"]
NO_OPTIONS = MediaOptions()

_DECK_EXTS = {".pptx", ".odp", ".ppt", ".pps", ".ppsx"}
_VIDEO_BRANDS_NOT_VIDEO = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis")
# What a file's extension promises, for the refusal of one whose content is something else.
_FORMATS = {
    ".pdf": "PDF",
    ".mp4": "MP4",
    ".mov": "MOV",
    ".webm": "WebM",
    ".avi": "AVI",
    ".mkv": "MKV",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
}


def sniff(path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS) -> Kind:
    """What a file holds, from its first bytes; refuses what no reader handles.

    A zip is read no further than its directory, which must pass ``limits`` (see
    :mod:`.archive`).
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    ext = os.path.splitext(name)[1].lower()
    if not head:
        raise MediaError(name, reason("file.empty"))
    if head.startswith(
        (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
    ) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[4:8] == b"ftyp":
        if head[8:12] in _VIDEO_BRANDS_NOT_VIDEO:
            raise UnsupportedMediaError(name, reason("file.heic"))
        return "video"
    if head.startswith(
        (b"\x1a\x45\xdf\xa3", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"OggS")
    ) or (head[:4] == b"RIFF" and head[8:12] == b"AVI "):
        return "video"
    if head[4:8] in (b"moov", b"mdat", b"free", b"wide"):  # QuickTime files without ftyp
        return "video"
    if head.startswith(b"PK"):
        return _sniff_zip(path, name, ext, limits)
    if head.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .ppt, but also .doc/.xls
        if ext in _DECK_EXTS:
            return "slides"
        raise UnsupportedMediaError(name, reason("file.old_office"))
    lowered = head.lower()
    if b"<svg" in lowered:
        raise UnsupportedMediaError(name, reason("file.svg"))
    if ext in _FORMATS:
        raise UnsupportedMediaError(name, reason("file.mismatch", format=_FORMATS[ext]))
    raise UnsupportedMediaError(name, reason("file.unsupported"))


def _sniff_zip(path: str | os.PathLike[str], name: str, ext: str, limits: MediaLimits) -> Kind:
    # The member count is checked before the directory is loaded, and the stated sizes before
    # any member is read; only the first bytes of "mimetype" are ever inflated here.
    try:
        infos = read_directory(path, name, limits)
        names = {i.filename for i in infos}
        mimetype = b""
        if "mimetype" in names:
            with zipfile.ZipFile(path) as package, package.open("mimetype") as fh:
                mimetype = fh.read(80)
    except (
        UnsupportedMediaError,
        zipfile.BadZipFile,
        OSError,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise UnsupportedMediaError(
            name, reason("deck.damaged" if ext in _DECK_EXTS else "file.zip_damaged")
        ) from exc
    if "ppt/presentation.xml" in names or b"presentation" in mimetype:
        check_directory(infos, name, limits)
        return "slides"
    raise UnsupportedMediaError(name, reason("file.zip_other"))


def ingest(
    paths: Sequence[str | os.PathLike[str]],
    limits: MediaLimits = DEFAULT_LIMITS,
    *,
    names: Sequence[str] | None = None,
    options: MediaOptions = NO_OPTIONS,
    existing: Sequence[MediaPart] = (),
) -> list[MediaPart]:
    """Turn uploaded files into parts, applying the conversation rules (see the module doc).

    ``names`` are the display names (uploads arrive as temp paths; default: the base names).
    ``options`` are the password, page range and video sampling chosen for this batch (see
    :class:`MediaOptions`). ``existing`` are the parts already in the conversation, so the
    rules hold across turns.
    """
    if names is not None and len(names) != len(paths):
        raise ValueError("names must have one entry per path")
    shown = (
        [str(n) for n in names]
        if names is not None
        else [os.path.basename(os.fspath(p)) for p in paths]
    )
    parts: list[MediaPart] = []
    images, videos = count_kinds(existing)
    for path, name in zip(paths, shown, strict=True):
        kind = _checked_kind(path, name, limits)
        if kind == "video":
            check_video(path, name)  # a damaged video is said to be damaged, whatever the rules
        room = admit(name, "video" if kind == "video" else "image", images, videos, limits)
        token_used = estimate_visual_tokens([*existing, *parts])
        try:
            new = _read(kind, path, name, limits, room, options, token_used)
        except MediaError:
            raise  # already a message for the user
        except Exception as exc:  # a reader's library failed in a way nobody foresaw
            raise MediaError(name, reason("file.unreadable")) from exc
        if kind == "video":
            videos += 1
        else:
            images += len(new)
        parts.extend(new)
    check_visual_budget(parts, limits, existing)
    return parts


def _checked_kind(path: str | os.PathLike[str], name: str, limits: MediaLimits) -> Kind:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise MediaError(name, reason("file.missing")) from exc
    check_file_size(size, name, limits)
    return sniff(path, name, limits)


def _read(
    kind: Kind,
    path: str | os.PathLike[str],
    name: str,
    limits: MediaLimits,
    room: int,
    options: MediaOptions,
    token_used: int,
) -> list[MediaPart]:
    if kind == "image":
        return [load_image(path, name, limits)]
    if kind == "pdf":
        return render_pdf(
            path,
            name,
            limits,
            password=options.password,
            page_range=options.page_range,
            max_pages=min(limits.max_pdf_pages, room),
            token_used=token_used,
        )
    if kind == "slides":
        return render_slides(
            path,
            name,
            limits,
            page_range=options.page_range,
            max_slides=min(limits.max_pdf_pages, room),
            token_used=token_used,
        )
    return [
        sample_video(
            path,
            name,
            limits,
            fps=options.video_fps,
            max_frames=options.video_max_frames,
            time_range=options.video_range,
        )
    ]
