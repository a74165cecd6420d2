"""Confinement for document converters: packages stripped of links, processes without a network
or a view of the server's files.

Two independent layers, both applied to every LibreOffice conversion:

1. :func:`strip_package` rewrites a PPTX or ODP package (already checked by :mod:`.archive`)
   before any converter reads it. Every relationship that is external (``TargetMode`` other than
   ``Internal``), has a URL scheme (``http:``, ``file:``, ``smb:``, ``vnd.sun.star.*``, ...), is a
   network path (``//host``, ``\\\\host``) or does not resolve to a part of this package (``..``
   out of it, absolute paths, missing parts) is removed, percent- and character-reference
   spellings included. The same rule removes every ``xlink:href`` attribute (any prefix bound to
   the XLink namespace) whose value is not an in-package path or a ``#`` fragment. Embedded OLE
   objects (any part holding an OLE2 compound file: ``oleObject*.bin``, ODF ``Object N`` binaries),
   ActiveX parts, VBA projects, Basic and script folders and ODF event listeners are dropped; a
   link to a dropped part goes with it. A part with a document type declaration is refused
   (neither format allows one, and it is how XML reaches outside files), and so is an XML part
   that is not plain UTF-8 (:func:`check_xml_encoding`): every check here reads bytes as UTF-8,
   while LibreOffice also reads UTF-16. A picture whose decoded
   size (from its header) passes :data:`REDUCE_ABOVE` is replaced by a copy reduced to the
   image pixel budget, here, under the image reader's own limits, so LibreOffice never decodes a
   7999x7999 picture that ends up as a part of a ~1500-token slide.
2. :func:`sandbox_prefix` gives the command that runs a converter in its own user, mount, PID and
   network namespaces (``unshare``) and chrooted into an empty folder that holds only ``/usr``,
   the ``/lib`` folders, ``/etc/fonts``, ``/etc/libreoffice``, four devices, its own ``/proc``
   and the job folder: it has no network interface but loopback (its own, empty) and cannot open
   the server's files, whatever a link says. Where the host refuses namespaces, the network-only
   namespace is tried, then none; each fallback is logged once, and layer 1 still holds.

Standard library only.
"""

from __future__ import annotations

import html
import logging
import os
import posixpath
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from ..errors import UnsupportedMediaError
from ..reasons import reason

__all__ = [
    "REDUCE_ABOVE",
    "Confinement",
    "StripReport",
    "check_encodings",
    "check_xml_encoding",
    "confinement",
    "is_package_path",
    "sandbox_prefix",
    "strip_package",
]

log = logging.getLogger("glmv_ui")

Confinement = Literal["namespaces", "network", "none"]

XLINK_NS = "http://www.w3.org/1999/xlink"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_ATTR = re.compile(r"""([\w:.\-]+)\s*=\s*("[^"]*"|'[^']*')""")
_RELATIONSHIP = re.compile(
    r"""<(?:[\w.\-]+:)?Relationship\b(?:[^>"']|"[^"]*"|'[^']*')*?(?:/>|>.*?</(?:[\w.\-]+:)?"""
    r"""Relationship\s*>)""",
    re.S,
)
_PREFIXES = re.compile(r"""xmlns:([\w.\-]+)\s*=\s*("[^"]*"|'[^']*')""")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)
_DECLARED = re.compile(rb"""^<\?xml\b[^>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Byte-order marks of the encodings other than UTF-8 an XML reader may detect by itself.
_OTHER_BOMS = (
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x00\x00\xfe\xff",
    b"\x2b\x2f\x76",
    b"\xdd\x73\x66\x73",
    b"\x0e\xfe\xff",
    b"\x84\x31\x95\x33",
    b"\xf7\x64\x4c",
)
_DROPPED_DIRS = ("ppt/embeddings/", "ppt/activeX/", "Basic/", "Scripts/")
_PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
# Pictures larger than this decoded (about 4096x2048 RGBA) are reduced before conversion.
REDUCE_ABOVE = 32 * 2**20


@dataclass(frozen=True)
class StripReport:
    """What :func:`strip_package` removed."""

    links: int  # relationships and xlink:href attributes
    parts: int  # OLE objects, ActiveX, macros


def is_package_path(target: str, base: str, members: frozenset[str]) -> bool:
    """Whether ``target`` (as written in a part in folder ``base``) names a part (or a folder of
    parts) of this package. Anything with a scheme, a host, or a path leaving the package is not."""
    value = unquote(html.unescape(target)).strip().replace("\\", "/")
    value = value.split("#", 1)[0]
    if not value or _SCHEME.match(value) or value.startswith("//") or "\x00" in value:
        return False
    path = value[1:] if value.startswith("/") else posixpath.join(base, value)
    norm = posixpath.normpath(path)
    if norm.startswith("../") or norm in ("..", ".", "/") or norm.startswith("/"):
        return False
    return norm in members or any(m.startswith(norm.rstrip("/") + "/") for m in members)


def strip_package(
    src: str | os.PathLike[str], dest: str | os.PathLike[str], name: str
) -> StripReport:
    """Copy the package ``src`` to ``dest`` without links out of it, OLE objects or macros (see
    the module doc). Refuses a package with a document type declaration."""
    links = parts = 0
    with zipfile.ZipFile(src) as package:
        infos = [i for i in package.infolist() if not i.is_dir()]
        dropped = {i.filename for i in infos if _dropped(package, i)}
        parts = len(dropped)
        members = frozenset(i.filename for i in infos) - dropped
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                if info.filename in dropped:
                    continue
                with package.open(info) as fh:
                    head = fh.read(512)
                if head.startswith(_PICTURE_MAGIC):
                    reduced = _reduced_picture(package, info, name)
                    if reduced is not None:
                        out.writestr(_copy_info(info), reduced)
                        continue
                if not _is_xml(info.filename, head):
                    with package.open(info) as fh, out.open(_copy_info(info), "w") as to:
                        shutil.copyfileobj(fh, to, 1 << 20)
                    continue
                data = package.read(info)  # XML parts were bounded by check_package
                check_xml_encoding(data, info.filename, name)
                if _DTD.search(data):
                    raise UnsupportedMediaError(name, reason("deck.dtd"))
                data, removed = _strip_xml(info.filename, data, members)
                links += removed
                out.writestr(_copy_info(info), data)
    return StripReport(links, parts)


def check_xml_encoding(data: bytes, member: str, name: str) -> None:
    """Refuse an XML part that is not plain UTF-8: another byte-order mark, a declared encoding
    other than UTF-8, a NUL byte or bytes UTF-8 does not allow. Every check on packages (links,
    document types, slide counts) reads the bytes as UTF-8, and LibreOffice reads UTF-16 too."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    declared = _DECLARED.match(body)
    label = (
        (declared.group(1) or declared.group(2) or b"").strip().lower() if declared else b"utf-8"
    )
    try:
        body.decode("utf-8")
        plain = True
    except UnicodeDecodeError:
        plain = False
    if (
        not plain
        or b"\x00" in body
        or body.startswith(_OTHER_BOMS)
        or label not in (b"utf-8", b"utf8")
    ):
        raise UnsupportedMediaError(name, reason("deck.encoding", member=member))


def check_encodings(src: str | os.PathLike[str], name: str) -> None:
    """:func:`check_xml_encoding` on every XML part of a (checked) package, before anything
    (the slide count included) reads one."""
    with zipfile.ZipFile(src) as package:
        for info in package.infolist():
            if info.is_dir():
                continue
            with package.open(info) as fh:
                head = fh.read(512)
            if head.startswith(_PICTURE_MAGIC) or not _is_xml(info.filename, head):
                continue
            check_xml_encoding(package.read(info), info.filename, name)


def _reduced_picture(package: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes | None:
    """A reduced copy of a picture too large to hand LibreOffice as it is, or None to keep it."""
    import io

    from PIL import Image

    from .images import decoded_bytes, load_image

    data = package.read(info)  # bounded by check_package's per-part limit
    try:
        with Image.open(io.BytesIO(data)) as img:
            size = decoded_bytes(img.width, img.height, img.mode)
            fmt = img.format
    except Exception:  # noqa: BLE001 - not a picture Pillow reads: LibreOffice decides
        return None
    if size <= REDUCE_ABOVE:
        return None
    part = load_image(io.BytesIO(data), name)  # refusals name the deck, with the numbers
    buf = io.BytesIO()
    part.image.save(buf, "JPEG" if fmt == "JPEG" else "PNG", quality=92)
    return buf.getvalue()


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
    return copy


def _dropped(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    fname = info.filename
    if fname.startswith(_DROPPED_DIRS) or fname.lower().endswith(".bin"):
        return True
    with package.open(info) as fh:
        return fh.read(8) == OLE_MAGIC


def _is_xml(fname: str, head: bytes) -> bool:
    if fname.endswith((".xml", ".rels")) or head.startswith(_OTHER_BOMS):
        return True
    # UTF-16 and UTF-32 markup without a byte-order mark: "<" among NULs.
    return head[:64].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _strip_xml(fname: str, data: bytes, members: frozenset[str]) -> tuple[bytes, int]:
    text = data.decode("utf-8", "surrogateescape")
    removed = 0
    base = posixpath.dirname(fname)
    if fname.endswith(".rels"):
        # A part's relationships live in <folder>/_rels/<part>.rels; targets are relative to
        # <folder>.
        owner = posixpath.dirname(base) if posixpath.basename(base) == "_rels" else base

        def relationship(match: re.Match[str]) -> str:
            nonlocal removed
            attrs = {
                k.split(":")[-1]: html.unescape(v[1:-1]) for k, v in _ATTR.findall(match.group(0))
            }
            mode = attrs.get("TargetMode", "Internal").strip()
            if mode == "Internal" and is_package_path(attrs.get("Target", ""), owner, members):
                return match.group(0)
            removed += 1
            return ""

        text = _RELATIONSHIP.sub(relationship, text)
    prefixes = {p for p, uri in _PREFIXES.findall(text) if html.unescape(uri[1:-1]) == XLINK_NS}
    for prefix in prefixes:
        href = re.compile(r"""(\s)""" + re.escape(prefix) + r""":href\s*=\s*("[^"]*"|'[^']*')""")

        def attribute(match: re.Match[str]) -> str:
            nonlocal removed
            value = html.unescape(match.group(2)[1:-1]).strip()
            if (
                value.startswith("#")
                or is_package_path(value, "", members)
                or is_package_path(value, base, members)
            ):
                return match.group(0)
            removed += 1
            return match.group(1)

        text = href.sub(attribute, text)
    office = {p for p, uri in _PREFIXES.findall(text) if html.unescape(uri[1:-1]) == OFFICE_NS}
    for prefix in office:  # ODF macros bound to events, and embedded scripts
        for element in ("event-listeners", "scripts"):
            tag = re.escape(f"{prefix}:{element}")
            text, count = re.subn(rf"<{tag}\b[^>]*/>|<{tag}\b.*?</{tag}\s*>", "", text, flags=re.S)
            removed += count
    return text.encode("utf-8", "surrogateescape"), removed


_SANDBOX = r"""
W=$1; shift; R=$W/root
mount -t tmpfs -o size=16m,mode=755 none "$R" || exit 97
for d in usr bin sbin lib lib64 lib32 libx32; do
  if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$R/$d"
  elif [ -d "/$d" ]; then mkdir "$R/$d" && mount --rbind "/$d" "$R/$d" || exit 97; fi
done
mkdir -p "$R/etc" "$R/dev" "$R/tmp" "$R/job" "$R/proc"
mount -t proc proc "$R/proc" || exit 97
for d in fonts libreoffice; do
  if [ -d "/etc/$d" ]; then mkdir "$R/etc/$d" && mount --rbind "/etc/$d" "$R/etc/$d"; fi
done
for f in ld.so.cache passwd group; do
  if [ -f "/etc/$f" ]; then touch "$R/etc/$f" && mount --bind "/etc/$f" "$R/etc/$f"; fi
done
for f in null zero urandom random; do touch "$R/dev/$f" && mount --bind "/dev/$f" "$R/dev/$f"; done
mount --bind "$W/job" "$R/job" || exit 97
while [ "$1" != "--" ]; do mkdir -p "$R$1" && mount --rbind "$1" "$R$1" || exit 97; shift; done
shift
cd / && exec chroot "$R" "$@"
"""


def sandbox_prefix(workdir: Path, mode: Confinement, program: str | None = None) -> list[str]:
    """The words to put before a converter's command. With ``"namespaces"`` the command runs
    chrooted, and must name its files under ``/job`` (``workdir / "job"`` here); ``program``'s
    folder is made visible at its own path when it lies outside the system folders."""
    unshare = shutil.which("unshare") or "unshare"
    if mode == "namespaces":
        (workdir / "root").mkdir(exist_ok=True)
        extra = []
        if program is not None:
            folder = os.path.dirname(os.path.realpath(program))
            if not folder.startswith(("/usr/", "/bin", "/sbin", "/lib")):
                extra.append(folder)
        return [unshare, "-rmnpf", "/bin/sh", "-c", _SANDBOX, "sh", str(workdir), *extra, "--"]
    if mode == "network":
        return [unshare, "-rn"]
    return []


@lru_cache(maxsize=1)
def confinement() -> Confinement:
    """The strongest confinement this host allows, probed once (and logged when short)."""
    import tempfile

    if shutil.which("unshare") is None:
        log.warning(
            "unshare not found: document converters run without a network namespace; "
            "links are still stripped from packages"
        )
        return "none"
    with tempfile.TemporaryDirectory(prefix="glmv-probe-") as tmp:
        work = Path(tmp)
        (work / "job").mkdir()
        modes: tuple[Confinement, ...] = ("namespaces", "network")
        for mode in modes:
            cmd = [
                *sandbox_prefix(work, mode, None),
                "/bin/sh",
                "-c",
                "test -d /job" if mode == "namespaces" else "true",
            ]
            try:
                ok = subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            if ok:
                if mode == "network":
                    log.warning(
                        "this host refuses mount namespaces: document converters run "
                        "without network but can see the server's files; links are "
                        "still stripped from packages"
                    )
                return mode
    log.warning(
        "this host refuses user namespaces: document converters run with the network "
        "and the server's files in view; links are still stripped from packages"
    )
    return "none"
