"""Decks whose pictures link to the network or to the server's files reach neither.

Each deck links one big picture, in a colour nothing else uses, to a loopback listener
(``http:``), to a ``file:`` URL, or to a relative path next to the upload; as PPTX (``r:link``,
``TargetMode="External"``), ODP (``xlink:href`` under another prefix) and binary PPT. After
conversion the listener has received no request and the colour is absent from every rendered
slide. A control deck with the same picture embedded shows that the colour check can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glmv_ui.media.slides import find_soffice, render_slides
from tests.mediafiles import pptx_file
from tests.security.hostile import (
    LINKED,
    Listener,
    colour_share,
    linked_odp,
    linked_png,
    linked_pptx,
    probe,
    rgba_png,
    to_ppt,
)

pytestmark = [pytest.mark.office, pytest.mark.slow]

KINDS = ["http", "file", "relative"]


@pytest.fixture(autouse=True)
def _needs_office() -> None:
    assert find_soffice() is not None, "LibreOffice is required for these tests"


def _target(kind: str, listener: Listener, picture: Path) -> str:
    return {"http": listener.url, "file": picture.as_uri(), "relative": picture.name}[kind]


def _rendered_share(path: Path) -> float:
    parts = render_slides(path, path.name)
    assert parts
    return max(colour_share(p.image) for p in parts)


def test_the_colour_check_sees_an_embedded_picture(tmp_path: Path) -> None:
    assert _rendered_share(linked_pptx(tmp_path, "control.pptx", "", embed=True)) > 0.2
    assert _rendered_share(linked_odp(tmp_path, "control.odp", "", embed=True)) > 0.2


@pytest.mark.parametrize("kind", KINDS)
def test_pptx_links_reach_nothing(tmp_path: Path, kind: str) -> None:
    picture = linked_png(tmp_path)
    listener = Listener(picture)
    deck = linked_pptx(tmp_path, f"{kind}.pptx", _target(kind, listener, picture))
    with listener.running():
        share = _rendered_share(deck)
    assert listener.requests == []
    assert share < 0.001, (kind, share)


@pytest.mark.parametrize("kind", KINDS)
def test_odp_links_reach_nothing(tmp_path: Path, kind: str) -> None:
    picture = linked_png(tmp_path)
    listener = Listener(picture)
    deck = linked_odp(tmp_path, f"{kind}.odp", _target(kind, listener, picture))
    with listener.running():
        share = _rendered_share(deck)
    assert listener.requests == []
    assert share < 0.001, (kind, share)


@pytest.mark.parametrize("kind", KINDS)
def test_ppt_links_reach_nothing(tmp_path: Path, kind: str) -> None:
    picture = tmp_path / "linked.png"  # made after the .ppt is written, so it stays a link
    listener = Listener(linked_png(tmp_path, "served.png"))
    source = linked_pptx(tmp_path, f"{kind}.pptx", _target(kind, listener, picture))
    ppt = to_ppt(source, tmp_path)
    # The link survived into the binary deck (LibreOffice writes file links relative to it).
    link = (listener.url if kind == "http" else picture.name).encode()
    assert link in ppt.read_bytes() or link.decode().encode("utf-16-le") in ppt.read_bytes()
    linked_png(tmp_path)
    with listener.running():
        share = _rendered_share(ppt)
    assert listener.requests == []
    assert share < 0.001, (kind, share)


@pytest.mark.parametrize("kind", ["http", "file"])
def test_stripping_alone_holds_where_the_host_refuses_namespaces(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import glmv_ui.media.slides as slides

    monkeypatch.setattr(slides, "confinement", lambda: "none")
    picture = linked_png(tmp_path)
    for build, suffix in ((linked_pptx, "pptx"), (linked_odp, "odp")):
        listener = Listener(picture)
        deck = build(tmp_path, f"{kind}.{suffix}", _target(kind, listener, picture))
        with listener.running():
            share = _rendered_share(deck)
        assert listener.requests == []
        assert share < 0.001, (deck.name, share)


def test_a_deck_holding_a_7999_square_picture_costs_under_400_mb(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_picture(str(rgba_png(tmp_path)), Inches(1), Inches(1), width=Inches(6))
    path = tmp_path / "big-picture.pptx"
    deck.save(path)
    assert path.stat().st_size < 2 * 2**20
    warm = pptx_file(tmp_path, "warm.pptx", slides=1)
    result = probe(
        f"parts = ingest([{str(path)!r}]); result = [p.size for p in parts]",
        f"from glmv_ui.media import ingest; ingest([{str(warm)!r}])",
    )
    assert result.error == "", result
    assert len(result.result) == 1, result
    # The picture is reduced before LibreOffice sees it; the reduction costs its decoded size.
    assert result.peak_mb < 400, result
    assert result.children_mb < 600, result


def test_a_conversion_stays_within_its_memory(tmp_path: Path) -> None:
    picture = linked_png(tmp_path)
    deck = linked_pptx(tmp_path, "deck.pptx", picture.as_uri())
    # In a fresh interpreter, RUSAGE_CHILDREN counts this conversion's processes only, not every
    # child the test run started before it.
    code = (
        "import resource, sys\n"
        "from glmv_ui.media.slides import render_slides\n"
        "render_slides(sys.argv[1], 'deck.pptx')\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code, str(deck)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=240,
        check=True,
    )
    children_mb = int(done.stdout.split()[-1]) / 1024
    assert children_mb < 600, children_mb
    assert LINKED  # the colour the other tests look for
