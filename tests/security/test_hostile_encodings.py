"""Deck parts in encodings other than UTF-8 are refused before anything reads them.

The link stripping, the document-type refusal and the slide count read package parts as UTF-8
bytes; LibreOffice also reads UTF-16 (with or without a byte-order mark, or by declaration), so a
UTF-16 ``content.xml`` or ``.rels`` kept its external links through the stripping. Every XML
part must now be plain UTF-8, or the deck is refused by name before conversion.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from glmv_ui.errors import UnsupportedMediaError
from glmv_ui.media.confine import check_xml_encoding, strip_package
from glmv_ui.media.slides import render_slides
from tests.security.hostile import linked_odp, linked_pptx

HREF = "http://127.0.0.1:9/linked.png"
# (python codec, byte-order mark written, declaration kept)
ENCODINGS = {
    "utf16le-bom": ("utf-16-le", b"\xff\xfe", False),
    "utf16be-bom": ("utf-16-be", b"\xfe\xff", False),
    "utf16le": ("utf-16-le", b"", False),
    "utf16be": ("utf-16-be", b"", False),
    "utf16le-declared": ("utf-16-le", b"", True),
    "utf32le-bom": ("utf-32-le", b"\xff\xfe\x00\x00", False),
}


def _reencode(text: str, codec: str, bom: bytes, declared: bool) -> bytes:
    body = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    if declared:
        body = f'<?xml version="1.0" encoding="{codec.upper()}"?>' + body
    return bom + body.encode(codec)


def _rewrite(src: Path, dest: Path, member: str, encode) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            new.writestr(info, encode(data.decode("utf-8")) if info.filename == member else data)
    return dest


def _refused(path: Path, member: str) -> None:
    message = (
        f"{path.name}: holds a part ({member}) in an encoding LibreOffice could read past "
        "our checks; slide decks are saved as UTF-8: save it again as PPTX or ODP and "
        "upload that"
    )
    with pytest.raises(UnsupportedMediaError) as raised:
        render_slides(path, path.name, soffice=None)  # refused before any reader runs
    assert str(raised.value) == message
    with pytest.raises(UnsupportedMediaError) as stripped:
        strip_package(path, path.with_suffix(".stripped" + path.suffix), path.name)
    assert str(stripped.value) == message


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_an_odp_content_part_not_in_utf8_is_refused(tmp_path: Path, encoding: str) -> None:
    codec, bom, declared = ENCODINGS[encoding]
    plain = linked_odp(tmp_path, "plain.odp", HREF)
    path = _rewrite(
        plain,
        tmp_path / f"{encoding}.odp",
        "content.xml",
        lambda text: _reencode(text, codec, bom, declared),
    )
    _refused(path, "content.xml")


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_a_pptx_relationships_part_not_in_utf8_is_refused(tmp_path: Path, encoding: str) -> None:
    codec, bom, declared = ENCODINGS[encoding]
    plain = linked_pptx(tmp_path, "plain.pptx", HREF)
    member = "ppt/slides/_rels/slide1.xml.rels"
    path = _rewrite(
        plain,
        tmp_path / f"{encoding}.pptx",
        member,
        lambda text: _reencode(text, codec, bom, declared),
    )
    _refused(path, member)


def test_the_utf8_decks_are_stripped_as_before(tmp_path: Path) -> None:
    # The controls: the same decks in UTF-8 pass, and the external link is removed.
    for path in (
        linked_odp(tmp_path, "plain.odp", HREF),
        linked_pptx(tmp_path, "plain.pptx", HREF),
    ):
        report = strip_package(path, tmp_path / f"out{path.suffix}", path.name)
        assert report.links >= 1, path
        with zipfile.ZipFile(tmp_path / f"out{path.suffix}") as out:
            assert not any(HREF.encode() in out.read(n) for n in out.namelist())


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>',
        b"<?xml version='1.0' encoding='UTF-16'?><a/>",
        b'<?xml version="1.0" encoding="UTF-8"?><a>\xe9</a>',  # declared UTF-8, is not
        b"<a>\x00</a>",
        b"+/v8-<a/>",  # UTF-7's mark
        b"\xef\xbb\xbf\xff\xfe<a/>",
    ],
    ids=["latin1", "declared-utf16", "bad-utf8", "nul", "utf7", "bom-then-utf16"],
)
def test_other_encodings_and_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(
        UnsupportedMediaError,
        match=r"d.odp: holds a part \(content.xml\) in an "
        r"encoding",
    ):
        check_xml_encoding(data, "content.xml", "d.odp")


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0" encoding="UTF-8"?><a>\xc3\xa9</a>',
        b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><a/>",
        b"<a>no declaration</a>",
    ],
    ids=["declared", "bom", "plain"],
)
def test_utf8_parts_pass(data: bytes) -> None:
    check_xml_encoding(data, "content.xml", "d.odp")


def test_a_utf16_part_under_another_name_is_still_checked(tmp_path: Path) -> None:
    # PPTX parts may have any name; markup in UTF-16 is recognised by its bytes, not its name.
    plain = linked_pptx(tmp_path, "plain.pptx", HREF)
    path = tmp_path / "renamed.pptx"
    with zipfile.ZipFile(plain) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        new.writestr("ppt/slides/extra", "<p:sld/>".encode("utf-16-le"))
    _refused(path, "ppt/slides/extra")
