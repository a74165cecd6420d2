"""Slide decks (PPTX, ODP, PPT) -> one RGB :class:`MediaPart` per slide used.

A PPTX or ODP package is checked first (:mod:`.archive`: part count, stated and real unpacked
sizes, compression ratio), so no reader below ever unpacks a decompression bomb. Decks are then
converted to PDF by headless LibreOffice and the PDF pages rendered like any PDF. Each conversion
runs in its own temporary folder with a private LibreOffice profile (so concurrent conversions
never share or lock a profile), on a copy of the upload under a fixed safe name (the user's file
name never reaches a command line or a shared folder), with a time limit after which the whole
process group is killed and, on Linux, an address-space limit (``ulimit -v`` in a shell that
then becomes LibreOffice, so the limit holds from its first instruction and for every process it
starts).

Confinement (:mod:`.confine`): the copy LibreOffice reads has no external relationship, no
``xlink:href`` outside the package, no OLE object, ActiveX part or macro left in it; and where
the host allows user namespaces (probed once, logged when not) LibreOffice runs with no network
and chrooted to a folder holding only system libraries, fonts, its settings and the job, so no
link of any spelling can reach the network or the server's files. A binary ``.ppt`` is first
converted to PPTX in that same confinement, stripped, then converted to PDF. Where the host
refuses namespaces, only the stripping holds (and the log says so); a ``.ppt`` then still
relies on LibreOffice not following its links, a known limit.

Without LibreOffice, PPTX decks fall back to a plain summary picture per slide drawn with
python-pptx and Pillow (title, text, pictures, notes), and say so in a note.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..config import HostSettings, MediaLimits
from ..errors import MediaError, UnsupportedMediaError
from ..reasons import reason
from .archive import check_package, count_in_member
from .budget import DEFAULT_LIMITS
from .confine import Confinement, check_encodings, confinement, sandbox_prefix, strip_package
from .parts import MediaPart
from .pdf import choose_range, render_pdf

__all__ = ["FALLBACK_NOTE", "convert_to_pdf", "count_slides", "find_soffice", "render_slides"]

FALLBACK_NOTE = reason("note.slides_summary")
_UNSET: Any = object()
log = logging.getLogger("glmv_ui")


def find_soffice() -> str | None:
    """The LibreOffice binary: ``GLMV_SOFFICE`` if set (empty = none), else soffice on PATH."""
    env = HostSettings.from_env().soffice
    if env is not None:
        return (shutil.which(env) or (env if os.path.isfile(env) else None)) if env else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_slides(
    path: str | os.PathLike[str],
    name: str,
    limits: MediaLimits = DEFAULT_LIMITS,
    *,
    page_range: tuple[int, int] | None = None,
    max_slides: int | None = None,
    soffice: str | None = _UNSET,
    suffix: str | None = None,
    token_used: int | None = None,
) -> list[MediaPart]:
    """Render the used slides of a deck. ``soffice=None`` forces the python-pptx fallback.

    ``suffix`` (".pptx", ".odp", ".ppt") tells LibreOffice the format; by default it comes from
    ``name``.
    """
    binary = find_soffice() if soffice is _UNSET else soffice
    suffix = (suffix or Path(name).suffix or ".pptx").lower()
    if suffix not in (".pptx", ".odp", ".ppt", ".pps", ".ppsx"):
        suffix = ".pptx"
    if zipfile.is_zipfile(path):
        check_package(path, name, limits)
        check_encodings(path, name)  # the slide count below reads the parts as UTF-8
    if count_slides(path) == 0:
        # LibreOffice would print an empty deck as one blank page.
        raise MediaError(name, reason("slides.none"))
    with tempfile.TemporaryDirectory(prefix="glmv-deck-") as tmp:
        if binary is None:
            return _fallback(path, name, limits, page_range, max_slides)
        pdf = convert_to_pdf(
            path,
            name,
            Path(tmp),
            binary,
            limits.office_timeout_s,
            suffix,
            memory_mb=limits.office_memory_mb,
        )
        try:
            return render_pdf(
                pdf,
                name,
                limits,
                page_range=page_range,
                max_pages=max_slides,
                numbering="slide",
                token_used=token_used,
            )
        except MediaError as exc:
            if exc.wording.key == "pdf.no_pages":
                raise MediaError(name, reason("slides.none")) from exc
            raise


def count_slides(path: str | os.PathLike[str]) -> int | None:
    """Slides in a (checked) PPTX or ODP package; None when unknown.

    PPTX slides are counted from the zip directory, ODP pages by streaming ``content.xml``.
    """
    try:
        with zipfile.ZipFile(path) as package:
            names = package.namelist()
        if "ppt/presentation.xml" in names:
            return sum(1 for n in names if n.startswith("ppt/slides/slide") and n.endswith(".xml"))
        if "content.xml" in names:
            return count_in_member(path, "content.xml", b"<draw:page ")
    except (zipfile.BadZipFile, OSError, KeyError, EOFError):
        return None
    return None


def convert_to_pdf(
    path: str | os.PathLike[str],
    name: str,
    workdir: Path,
    soffice: str,
    timeout_s: float,
    suffix: str = ".pptx",
    *,
    memory_mb: int | None = None,
) -> Path:
    """Convert a deck to PDF inside ``workdir``, confined (see the module doc); return the PDF.

    A zip package is stripped of links, OLE objects and macros first; a binary deck is first
    converted to PPTX in the same confinement, then stripped, then converted to PDF.
    ``memory_mb`` bounds LibreOffice's address space on Linux (elsewhere only the time limit
    applies).
    """
    mode = confinement()
    job = workdir / "job"
    job.mkdir()
    if zipfile.is_zipfile(path):
        report = strip_package(path, job / f"deck{suffix}", name)
    else:
        shutil.copyfile(path, job / f"raw{suffix}")
        _soffice(soffice, workdir, mode, f"raw{suffix}", "pptx", "pre", name, timeout_s, memory_mb)
        report = strip_package(job / "pre" / "raw.pptx", job / "deck.pptx", name)
        suffix = ".pptx"
    if report.links or report.parts:
        log.info(
            "deck %r: %d links and %d embedded objects or macros removed before conversion",
            name,
            report.links,
            report.parts,
        )
    return _soffice(
        soffice, workdir, mode, f"deck{suffix}", "pdf", "out", name, timeout_s, memory_mb
    )


def _soffice(
    soffice: str,
    workdir: Path,
    mode: Confinement,
    source: str,
    fmt: str,
    out: str,
    name: str,
    timeout_s: float,
    memory_mb: int | None,
) -> Path:
    """Run one LibreOffice conversion of ``workdir/job/source`` into ``workdir/job/out``."""
    job = workdir / "job"
    (job / out).mkdir()
    inside = Path("/job") if mode == "namespaces" else job
    profile = inside / f"profile-{out}"
    cmd = [
        soffice,
        "--headless",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        f"-env:UserInstallation={profile.as_uri()}",
        "--convert-to",
        fmt,
        "--outdir",
        str(inside / out),
        str(inside / source),
    ]
    cmd = [*sandbox_prefix(workdir, mode, soffice), *cmd]
    limited = memory_mb is not None and sys.platform.startswith("linux")
    if limited:
        # The shell sets the limit on itself and then becomes the sandbox and LibreOffice
        # (exec), so it holds before LibreOffice runs and for every helper it forks.
        cmd = [
            "/bin/sh",
            "-c",
            'ulimit -v "$1" && shift && exec "$@"',
            "sh",
            str(int(memory_mb or 0) * 1024),
            *cmd,
        ]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    env["HOME"] = str(inside)  # nothing is written to the real home
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise MediaError(name, reason("slides.office_missing")) from exc
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        # soffice forks helpers; the new session lets us end all of them together.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise MediaError(name, reason("slides.timeout", seconds=timeout_s)) from exc
    result = job / out / f"{Path(source).stem}.{fmt}"
    # LibreOffice ends with status 0 on a deck it cannot open; under the limit a failed
    # allocation ends it otherwise (an abort, or the loader's 127).
    if limited and proc.returncode != 0:
        log.info(
            "LibreOffice stopped with status %s under a %s MB limit: %s",
            proc.returncode,
            memory_mb,
            output.decode("utf-8", "replace").strip()[-300:] if output else "",
        )
        raise MediaError(name, reason("slides.memory", limit_mb=int(memory_mb or 0)))
    if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
        # What LibreOffice said is for the log; the user gets what to do.
        log.info(
            "LibreOffice could not convert a deck (status %s): %s",
            proc.returncode,
            output.decode("utf-8", "replace").strip()[-500:] if output else "",
        )
        raise UnsupportedMediaError(name, reason("slides.unopenable")) from None
    return result


def _fallback(
    path: str | os.PathLike[str],
    name: str,
    limits: MediaLimits,
    page_range: tuple[int, int] | None,
    max_slides: int | None,
) -> list[MediaPart]:
    try:
        from pptx import Presentation
    except ImportError as exc:
        raise UnsupportedMediaError(name, reason("slides.no_reader")) from exc
    if not zipfile.is_zipfile(path):
        raise UnsupportedMediaError(name, reason("slides.pptx_only"))
    try:
        deck = Presentation(os.fspath(path))
        slides = list(deck.slides)
    except Exception as exc:  # python-pptx raises KeyError, ValueError, lxml errors...
        raise UnsupportedMediaError(name, reason("slides.pptx_unopenable")) from exc
    total = len(slides)
    if total == 0:
        raise MediaError(name, reason("slides.none"))
    cap = limits.max_pdf_pages if max_slides is None else max_slides
    first, last, notes = choose_range(name, total, page_range, cap, "slide")
    notes.insert(0, FALLBACK_NOTE)
    aspect = (deck.slide_height or 6858000) / (deck.slide_width or 9144000)
    parts: list[MediaPart] = []
    for number in range(first, last + 1):
        image = _draw_slide(slides[number - 1], aspect)
        parts.append(
            MediaPart(
                kind="image",
                source=name,
                image=image,
                slide=number,
                page_count=total,
                notes=tuple(notes) if not parts else (),
            )
        )
    return parts


def _draw_slide(slide: Any, aspect: float) -> Any:
    """One summary picture: title on top, body text, pictures in a row, notes in a footer."""
    from PIL import Image, ImageDraw, ImageFont

    width = 1024
    height = max(256, int(width * aspect))
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    title_font = ImageFont.load_default(size=36)
    body_font = ImageFont.load_default(size=22)
    title = slide.shapes.title.text_frame.text if slide.shapes.title is not None else ""
    texts, pictures = [], []
    for shape in slide.shapes:
        if shape.has_text_frame and shape != slide.shapes.title and shape.text_frame.text.strip():
            texts.append(shape.text_frame.text.strip())
        if shape.shape_type == 13:  # MSO_SHAPE_TYPE.PICTURE
            try:
                pictures.append(Image.open(io.BytesIO(shape.image.blob)).convert("RGB"))
            except (OSError, ValueError, KeyError, AttributeError):
                pass  # an unreadable embedded picture: the rest of the slide is still shown
    y = 24
    if title:
        draw.text((32, y), title[:80], fill="black", font=title_font)
        y += 56
    for line in "\n".join(texts).splitlines()[:12]:
        draw.text((48, y), line[:90], fill="black", font=body_font)
        y += 30
    footer = height - 40
    if pictures:
        slot_w = (width - 64) // len(pictures[:4])
        slot_h = max(32, footer - y - 16)
        for i, pic in enumerate(pictures[:4]):
            pic.thumbnail((slot_w - 16, slot_h))
            canvas.paste(pic, (32 + i * slot_w, y + 8))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame.text.strip().replace("\n", " ")
        if notes:
            draw.line((0, footer - 8, width, footer - 8), fill="gray")
            draw.text((32, footer), f"Notes: {notes[:110]}", fill="dimgray", font=body_font)
    return canvas
