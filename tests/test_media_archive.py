"""Slide-deck packages are checked before anything unpacks them: bombs, lying directories, limits.

The bomb tests run the upload in a fresh interpreter and read its peak RSS there
(:func:`tests.mediafiles.measure`), so memory that earlier tests used cannot hide a peak.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest

from glmv_ui.config import MediaLimits
from glmv_ui.errors import MediaBudgetError, MediaError, UnsupportedMediaError
from glmv_ui.media import ingest
from glmv_ui.media.archive import check_package, count_in_member, inflate_package
from glmv_ui.media.slides import count_slides, render_slides
from tests.helpers import require_corpus
from tests.mediafiles import BOMB_PART, CORPUS, lying_copy, measure, pptx_bomb, pptx_file

PRELUDE = (
    "import zipfile, zlib, pymupdf, PIL.Image, pptx; "
    "from glmv_ui.media import ingest; from glmv_ui.media import slides, archive"
)
MEMORY_BOUND_MB = 64  # the checks inflate a megabyte at a time


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    honest = pptx_bomb(folder, "bomb.pptx")
    liar = lying_copy(honest, folder / "liar.pptx", stated=2 * 2**20)
    return {"honest": honest, "liar": liar}


@pytest.mark.slow
def test_a_pptx_bomb_is_refused_by_name_without_unpacking_it(bombs: dict[str, Path]) -> None:
    bomb = bombs["honest"]
    assert bomb.stat().st_size < 2 * 2**20
    with zipfile.ZipFile(bomb) as package:
        assert package.getinfo(BOMB_PART).file_size > 1500 * 10**6
    result = measure(f"ingest([{str(bomb)!r}], names=['quarterly.pptx'])", PRELUDE)
    assert result.error_type == "MediaBudgetError"
    assert result.error.startswith(
        "quarterly.pptx: holds a part (ppt/slides/slide1.xml) of 1,500 MB once unpacked"
    )
    assert result.rss_growth_mb < MEMORY_BOUND_MB
    assert result.children_rss_mb == 0  # LibreOffice never started
    # Called directly, the renderer checks the package itself.
    with pytest.raises(MediaBudgetError, match=r"^deck.pptx: holds a part"):
        render_slides(bomb, "deck.pptx")


@pytest.mark.slow
def test_a_directory_that_lies_about_sizes_is_caught_while_inflating(
    bombs: dict[str, Path],
) -> None:
    liar = bombs["liar"]
    with zipfile.ZipFile(liar) as package:
        assert package.getinfo(BOMB_PART).file_size == 2 * 2**20
        assert package.testzip() is None  # zipfile trusts the directory and finds it sound
    result = measure(f"ingest([{str(liar)!r}], names=['liar.pptx'])", PRELUDE)
    assert result.error_type == "MediaBudgetError"
    assert result.error.startswith(
        "liar.pptx: is damaged: a part (ppt/slides/slide1.xml) holds "
        "more than its table of contents says"
    )
    assert result.rss_growth_mb < MEMORY_BOUND_MB
    assert result.children_rss_mb == 0


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as package:
        for name, data in members.items():
            package.writestr(name, data)
    return path


def _deck(path: Path, **extra: bytes) -> Path:
    """A minimal PPTX-looking package (enough for sniffing and the checks) with ``extra``."""
    return _zip(
        path,
        {
            "ppt/presentation.xml": b"<p/>",
            "ppt/slides/slide1.xml": b"<s/>",
            **{name.replace("__", "/"): data for name, data in extra.items()},
        },
    )


def test_each_limit_is_refused_by_name(tmp_path: Path) -> None:
    many = _deck(tmp_path / "many.pptx", **{f"ppt__media__{i}.png": b"x" for i in range(20)})
    with pytest.raises(
        MediaBudgetError,
        match=r"^many.pptx: is made of 22 parts; slide decks "
        r"may have up to 10: export it as PDF",
    ):
        ingest([many], MediaLimits(archive_max_members=10))

    big = _deck(tmp_path / "big.pptx", ppt__media__clip_bin=b"x" * 3 * 2**20)
    with pytest.raises(
        MediaBudgetError,
        match=r"^big.pptx: holds a part \(ppt/media/clip_bin\) "
        r"of 3 MB once unpacked; parts of this kind may "
        r"be up to 2 MB",
    ):
        ingest([big], MediaLimits(archive_max_member_mb=2))

    xml = _deck(tmp_path / "xml.pptx", **{"ppt__slides__slide2.xml": b"<a>" + b"x" * 2**21})
    with pytest.raises(
        MediaBudgetError,
        match=r"^xml.pptx: holds a part \(ppt/slides/slide2.xml"
        r"\) of 2 MB once unpacked; parts of this kind may "
        r"be up to 1 MB",
    ):
        ingest([xml], MediaLimits(archive_max_xml_mb=1))

    noise = random.Random(7)
    total = _deck(
        tmp_path / "total.pptx",
        **{f"ppt__media__{i}.bin": noise.randbytes(2**20) for i in range(3)},
    )
    with pytest.raises(
        MediaBudgetError,
        match=r"^total.pptx: holds 3 MB once unpacked; slide "
        r"decks may hold up to 2 MB",
    ):
        ingest([total], MediaLimits(archive_max_total_mb=2))

    ratio = _deck(tmp_path / "ratio.pptx", ppt__media__zeros_bin=bytes(4 * 2**20))
    with pytest.raises(
        MediaBudgetError,
        match=r"^ratio.pptx: holds a part "
        r"\(ppt/media/zeros_bin\) packed 1,0\d\d to 1",
    ):
        ingest([ratio])

    bzip = _zip(tmp_path / "bzip.pptx", {"ppt/presentation.xml": b"<p/>"}, zipfile.ZIP_BZIP2)
    with pytest.raises(UnsupportedMediaError, match=r"^bzip.pptx: is packed in a way slide"):
        ingest([bzip])


def test_a_part_whose_stream_ends_early_is_damaged(tmp_path: Path) -> None:
    deck = pptx_file(tmp_path, "deck.pptx", slides=1)
    raw = bytearray(deck.read_bytes())
    with zipfile.ZipFile(deck) as package:
        info = package.getinfo("ppt/slides/slide1.xml")
    # Claim one byte more than the stream holds, in both directories.
    for at in (info.header_offset + 22, raw.rfind(b"ppt/slides/slide1.xml") - 46 + 24):
        raw[at : at + 4] = (info.file_size + 1).to_bytes(4, "little")
    cut = tmp_path / "cut.pptx"
    cut.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedMediaError, match=r"^cut.pptx: is damaged"):
        inflate_package(cut, "cut.pptx")


def test_odp_slides_are_counted_as_a_stream_across_chunks(tmp_path: Path) -> None:
    # "<draw:page " straddles the 1 MiB boundary between two reads.
    body = b" " * (2**20 - 5) + b"<draw:page " + b"x" * 100 + b"<draw:page />"
    odp = _zip(
        tmp_path / "deck.odp",
        {"mimetype": b"application/vnd.oasis.opendocument.presentation", "content.xml": body},
    )
    assert count_in_member(odp, "content.xml", b"<draw:page ") == 2
    assert count_slides(odp) == 2


DECKS = sorted(p.name for p in require_corpus("pptx").glob("*.p*") if zipfile.is_zipfile(p))


@pytest.mark.parametrize("name", DECKS)
def test_the_corpus_decks_pass_the_checks(name: str) -> None:
    info = check_package(CORPUS / "pptx" / name, name)
    assert 18 <= info.members <= 123
    assert info.stated_bytes < 2 * 2**20


@pytest.mark.office
def test_libreoffice_runs_under_the_memory_limit(tmp_path: Path) -> None:
    deck = pptx_file(tmp_path, "deck.pptx", slides=1)
    with pytest.raises(
        MediaError,
        match=r"^deck.pptx: could not be converted: it needs more "
        r"than the 64 MB of memory",
    ):
        render_slides(deck, "deck.pptx", MediaLimits(office_memory_mb=64))
    assert len(render_slides(deck, "deck.pptx", MediaLimits(office_memory_mb=512))) == 1
