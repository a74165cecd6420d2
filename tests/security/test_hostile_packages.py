"""Package stripping on its own (no LibreOffice): every spelling of a link out of the package
goes, in-package links stay, OLE objects and macros are dropped, a DTD is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from glmv_ui.errors import UnsupportedMediaError
from glmv_ui.media.confine import confinement, is_package_path, strip_package

MEMBERS = frozenset(
    {"ppt/media/image1.png", "ppt/slides/slide2.xml", "Pictures/a.png", "Object 1/content.xml"}
)

OUTSIDE = [
    "file:///etc/passwd",
    "FILE:/etc/passwd",
    "/etc/passwd",
    "//host/share/x.png",
    "\\\\host\\share\\x.png",
    "../../../../etc/passwd",
    "..\\..\\x.png",
    "%2e%2e/%2e%2e/x.png",
    "&#102;ile:///x.png",
    "smb://host/x.png",
    "http://127.0.0.1/x",
    "vnd.sun.star.expand:$UNO_USER_INSTALLATION/x",
    "vnd.sun.star.GraphicObject:1234",
    "media/../../../x.png",
    "ppt/media/missing.png",
    "",
    "C:/x.png",
    "data:image/png,x",
]


@pytest.mark.parametrize("target", OUTSIDE)
def test_links_out_of_the_package_are_not_package_paths(target: str) -> None:
    assert not is_package_path(target, "ppt/slides", MEMBERS)
    assert not is_package_path(target, "", MEMBERS)


@pytest.mark.parametrize(
    ("target", "base"),
    [
        ("../media/image1.png", "ppt/slides"),
        ("/ppt/media/image1.png", "ppt/slides"),
        ("slide2.xml", "ppt/slides"),
        ("Pictures/a.png", ""),
        ("./Object 1", ""),
        ("ppt/media/image1.png#frag", ""),
    ],
)
def test_in_package_paths_stay(target: str, base: str) -> None:
    assert is_package_path(target, base, MEMBERS)


def _package(tmp: Path, parts: dict[str, bytes]) -> Path:
    path = tmp / "deck.pptx"
    with zipfile.ZipFile(path, "w") as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


RELS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://x/image" Target="../media/image1.png"/>
<Relationship Id="rId2" Type="http://x/image" Target="http://127.0.0.1:9/x.png"
 TargetMode="External"/>
<Relationship Id="rId3" Type='http://x/image' Target='file:///srv/secret.png'
 TargetMode='External'/>
<Relationship Id="rId4" Type="http://x/image" Target="../../../../srv/secret.png"/>
<Relationship Id="rId5" Type="http://x/image" Target="&#102;ile:///srv/secret.png"/>
<Relationship Id="rId6" Type="http://x/oleObject" Target="../embeddings/oleObject1.bin"/>
<Relationship Id="rId7" Type="http://x/slide" Target="slide2.xml"></Relationship>
<Relationship Id="rId8" Type="http://x/image" Target="../media/image1.png" TargetMode="external"/>
</Relationships>"""


def test_relationships_out_of_the_package_and_ole_objects_are_removed(tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "[Content_Types].xml": b"<Types/>",
            "ppt/presentation.xml": b"<p/>",
            "ppt/slides/slide1.xml": b"<sld/>",
            "ppt/slides/slide2.xml": b"<sld/>",
            "ppt/slides/_rels/slide1.xml.rels": RELS,
            "ppt/media/image1.png": b"\x89PNG....",
            "ppt/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "ppt/vbaProject.bin": b"macro",
            "ppt/media/hidden-ole": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        },
    )
    report = strip_package(src, tmp_path / "out.pptx", "deck.pptx")
    with zipfile.ZipFile(tmp_path / "out.pptx") as out:
        names = set(out.namelist())
        rels = out.read("ppt/slides/_rels/slide1.xml.rels").decode()
    assert "ppt/embeddings/oleObject1.bin" not in names
    assert "ppt/vbaProject.bin" not in names
    assert "ppt/media/hidden-ole" not in names
    assert "ppt/media/image1.png" in names
    assert report.parts == 3
    assert report.links == 6
    assert 'Id="rId1"' in rels
    assert 'Id="rId7"' in rels
    for gone in ("rId2", "rId3", "rId4", "rId5", "rId6", "rId8", "secret", "127.0.0.1"):
        assert gone not in rels


CONTENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:q="http://www.w3.org/1999/xlink" xmlns:xlink="http://www.w3.org/1999/xlink">
<office:scripts><office:script>bad</office:script></office:scripts>
<office:event-listeners><x/></office:event-listeners>
<draw:image q:href="Pictures/a.png"/>
<draw:image q:href="http://127.0.0.1:9/a.png"/>
<draw:image xlink:href='file:///srv/secret.png'/>
<draw:image xlink:href="&#x2F;srv/secret.png"/>
<draw:image xlink:href="../secret.png"/>
<draw:image xlink:href="vnd.sun.star.GraphicObject:10000000000000"/>
<draw:a xlink:href="#page2"/>
<draw:object xlink:href="./Object 1"/>
</office:document-content>"""


def test_xlink_hrefs_out_of_the_package_and_scripts_are_removed(tmp_path: Path) -> None:
    src = _package(
        tmp_path,
        {
            "mimetype": b"application/vnd.oasis.opendocument.presentation",
            "content.xml": CONTENT,
            "Pictures/a.png": b"png",
            "Object 1/content.xml": b"<x/>",
            "Basic/Standard/m.xml": b"<m/>",
        },
    )
    report = strip_package(src, tmp_path / "out.odp", "deck.odp")
    with zipfile.ZipFile(tmp_path / "out.odp") as out:
        content = out.read("content.xml").decode()
        assert "Basic/Standard/m.xml" not in out.namelist()
        assert out.infolist()[0].filename == "mimetype"
    assert 'q:href="Pictures/a.png"' in content
    assert 'xlink:href="#page2"' in content
    assert 'xlink:href="./Object 1"' in content
    for gone in ("127.0.0.1", "secret", "GraphicObject", "office:scripts", "event-listeners"):
        assert gone not in content
    assert report.links == 7
    assert report.parts == 1


def test_a_document_type_declaration_is_refused(tmp_path: Path) -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    src = _package(tmp_path, {"ppt/presentation.xml": evil})
    with pytest.raises(UnsupportedMediaError, match=r"deck.pptx: holds a document type"):
        strip_package(src, tmp_path / "out.pptx", "deck.pptx")


def test_the_strongest_confinement_the_host_allows_is_used() -> None:
    import shutil
    import subprocess

    unshare = shutil.which("unshare")
    allowed = (
        unshare is not None
        and subprocess.run([unshare, "-rmnpf", "true"], capture_output=True, timeout=20).returncode
        == 0
    )
    assert (confinement() == "namespaces") == allowed


def test_without_unshare_the_fallback_is_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no unshare on it
    confinement.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="glmv_ui"):
            assert confinement() == "none"
        assert "unshare not found" in caplog.text
        assert "still stripped" in caplog.text
    finally:
        confinement.cache_clear()


@pytest.mark.slow  # resizes a very large picture
def test_a_picture_too_big_to_hand_the_converter_is_reduced_first(tmp_path: Path) -> None:
    import io

    from PIL import Image

    big, small = io.BytesIO(), io.BytesIO()
    Image.new("RGBA", (4000, 4000), (1, 2, 3, 255)).save(big, "PNG")
    Image.new("RGB", (640, 480), (9, 9, 9)).save(small, "PNG")
    src = _package(
        tmp_path,
        {
            "ppt/presentation.xml": b"<p/>",
            "ppt/media/image1.png": big.getvalue(),
            "ppt/media/image2.png": small.getvalue(),
        },
    )
    strip_package(src, tmp_path / "out.pptx", "deck.pptx")
    with zipfile.ZipFile(tmp_path / "out.pptx") as out:
        reduced = Image.open(io.BytesIO(out.read("ppt/media/image1.png")))
        assert reduced.size[0] * reduced.size[1] <= 1920 * 1080
        assert reduced.convert("RGB").getpixel((10, 10)) == (1, 2, 3)
        assert out.read("ppt/media/image2.png") == small.getvalue()  # small ones untouched
