"""Zip packages (PPTX, ODP) checked before anything extracts them.

A slide deck is a zip; a small upload can hold members that inflate to gigabytes (an XML part of
spaces compresses a thousandfold), and its directory can state sizes that are not true. Two
checks run before python-pptx, LibreOffice or our own sniffing reads a member:

* :func:`inspect_package` reads only the directory: the member count (from the end record, before
  the directory itself is loaded), each member's and the total stated inflated size, the
  compression ratio of large members, and methods and flags a deck never uses.
* :func:`inflate_package` then inflates every member as a stream with zlib, a chunk at a time,
  without trusting the stated sizes: it stops as soon as a member gives more bytes than stated or
  than the limits allow, and checks that each stream ends where stated, with the stated CRC.

Memory stays bounded by the chunk size whatever the file holds. Refusals are
:class:`~glmv_ui.errors.MediaBudgetError` (too big) or
:class:`~glmv_ui.errors.UnsupportedMediaError` (damaged or not a deck's kind of zip), naming the
file. This module never writes a member to disk and never builds a path from a member's name.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..config import MediaLimits
from ..errors import MediaBudgetError, UnsupportedMediaError
from ..reasons import reason
from .budget import DEFAULT_LIMITS

__all__ = [
    "PackageInfo",
    "check_directory",
    "check_package",
    "count_in_member",
    "inflate_package",
    "inspect_package",
    "read_directory",
]

MB = 1024 * 1024
CHUNK = MB  # inflated bytes handed out per step
_READ = 64 * 1024  # compressed bytes read per step
_RATIO_FLOOR = MB  # members smaller than this are not judged by their compression ratio
_XML_SUFFIXES = (".xml", ".rels")
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_LOCAL = b"PK\x03\x04"


@dataclass(frozen=True)
class PackageInfo:
    """What the directory of a package says, once it has passed the checks."""

    names: frozenset[str]
    members: int
    stated_bytes: int  # total inflated size the directory states


def check_package(
    path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS
) -> PackageInfo:
    """:func:`inspect_package`, then :func:`inflate_package`."""
    info = inspect_package(path, name, limits)
    inflate_package(path, name, limits)
    return info


def inspect_package(
    path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS
) -> PackageInfo:
    """Check the directory of a zip package against ``limits`` without inflating anything."""
    return check_directory(read_directory(path, name, limits), name, limits)


def read_directory(
    path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS
) -> list[zipfile.ZipInfo]:
    """The members a package lists, once its count (read from the end record before the
    directory is loaded) is within ``limits.archive_max_members``."""
    with open(path, "rb") as fh:
        stated = _stated_member_count(fh, name)
    _check_count(stated, name, limits)
    try:
        with zipfile.ZipFile(path) as package:
            infos = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _damaged(name) from exc
    _check_count(len(infos), name, limits)
    return infos


def check_directory(
    infos: list[zipfile.ZipInfo], name: str, limits: MediaLimits = DEFAULT_LIMITS
) -> PackageInfo:
    """Check each member's stated size, ratio, method and flags, and the stated total."""
    total = 0
    for info in infos:
        _check_stated(info, name, limits)
        total += info.file_size
    if total > limits.archive_max_total_mb * MB:
        raise MediaBudgetError(
            name, reason("deck.total", total_mb=total / MB, limit_mb=limits.archive_max_total_mb)
        )
    return PackageInfo(frozenset(i.filename for i in infos), len(infos), total)


def inflate_package(
    path: str | os.PathLike[str], name: str, limits: MediaLimits = DEFAULT_LIMITS
) -> int:
    """Inflate every member as a stream, trusting no stated size; return the bytes inflated."""
    total = 0
    try:
        with zipfile.ZipFile(path) as package, open(path, "rb") as fh:
            for info in package.infolist():
                # The stated size is held to the limits; the stream may not exceed it.
                _check_stated(info, name, limits)
                for chunk in _inflate(fh, info, name):
                    total += len(chunk)
                    if total > limits.archive_max_total_mb * MB:
                        raise MediaBudgetError(
                            name, reason("deck.total_over", limit_mb=limits.archive_max_total_mb)
                        )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise _damaged(name) from exc
    return total


def count_in_member(path: str | os.PathLike[str], member: str, needle: bytes) -> int:
    """How often ``needle`` occurs in one member, read as a stream (for a checked package)."""
    count = 0
    carry = b""
    with zipfile.ZipFile(path) as package, package.open(member) as fh:
        while block := fh.read(CHUNK):
            data = carry + block
            count += data.count(needle)
            # keep a tail too short to hold a whole needle, so one split by the chunk is found
            carry = data[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return count


def _check_count(count: int, name: str, limits: MediaLimits) -> None:
    if count > limits.archive_max_members:
        raise MediaBudgetError(
            name, reason("deck.members", count=count, limit=limits.archive_max_members)
        )


def _check_stated(info: zipfile.ZipInfo, name: str, limits: MediaLimits) -> None:
    if info.flag_bits & 0x1:
        raise UnsupportedMediaError(name, reason("deck.encrypted"))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnsupportedMediaError(name, reason("deck.method"))
    cap = _member_cap(info, limits)
    if info.file_size > cap:
        raise MediaBudgetError(
            name,
            reason(
                "deck.member_size",
                member=_shown(info.filename),
                size_mb=info.file_size / MB,
                limit_mb=cap // MB,
            ),
        )
    if (
        info.file_size >= _RATIO_FLOOR
        and info.compress_size > 0
        and info.file_size > limits.archive_max_ratio * info.compress_size
    ):
        raise MediaBudgetError(
            name,
            reason(
                "deck.ratio",
                member=_shown(info.filename),
                ratio=info.file_size / info.compress_size,
                limit=limits.archive_max_ratio,
            ),
        )
    if (
        info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size
    ) or info.compress_size > info.file_size + info.file_size // 100 + 1024:
        raise UnsupportedMediaError(name, reason("deck.sizes"))


def _member_cap(info: zipfile.ZipInfo, limits: MediaLimits) -> int:
    # XML parts are parsed whole into memory by every reader; media parts are not.
    xml = info.filename.lower().endswith(_XML_SUFFIXES)
    return (limits.archive_max_xml_mb if xml else limits.archive_max_member_mb) * MB


def _inflate(fh: BinaryIO, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """The member's inflated bytes in chunks; refuses as soon as the stream disagrees with the
    directory (more bytes than stated, an early or late end, a wrong CRC)."""
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != _LOCAL:
        raise zipfile.BadZipFile("no local header where the directory says")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    produced = crc = 0
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    pending = b""
    while True:
        if not pending and left > 0:
            pending = fh.read(min(_READ, left))
            if not pending:
                raise zipfile.BadZipFile("the file ends inside a member")
            left -= len(pending)
        if inflater is None:
            out, pending = pending, b""
        else:
            # At most CHUNK bytes out per call; the input not yet used waits in the tail.
            out = inflater.decompress(pending, CHUNK)
            pending = inflater.unconsumed_tail
        produced += len(out)
        if produced > info.file_size:
            raise MediaBudgetError(name, reason("deck.overflow", member=_shown(info.filename)))
        crc = zlib.crc32(out, crc)
        if out:
            yield out
        if (inflater is not None and inflater.eof) or (not out and not pending and left == 0):
            break
    if inflater is not None and not inflater.eof:
        raise zipfile.BadZipFile("a member's stream does not end where stated")
    if produced != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile("a member does not match its stated size or checksum")


def _stated_member_count(fh: BinaryIO, name: str) -> int:
    """The member count from the end-of-directory record (and its zip64 form)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 22 + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise _damaged(name)
    count = int(struct.unpack("<H", tail[at + 10 : at + 12])[0])
    locator = at - 20
    if locator >= 0 and tail[locator : locator + 4] == _EOCD64_LOCATOR:
        (record_at,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        fh.seek(record_at)
        record = fh.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            count = max(count, int(struct.unpack("<Q", record[32:40])[0]))
    return count


def _shown(member: str) -> str:
    return member if len(member) <= 60 else "…" + member[-59:]


def _damaged(name: str) -> UnsupportedMediaError:
    return UnsupportedMediaError(name, reason("deck.damaged"))
