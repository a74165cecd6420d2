"""One reply, two views: the app and the notebook show the same boxes, actions, page and notices.

Every raw output of the corpus and GUI-agent answers with ``box_2d`` go through the core's
Reply once; the app's Chatbot messages and the notebook's HTML are then read back into plain
records and compared with each other and with the Reply.
"""

from __future__ import annotations

import html
import random
import re
from typing import Any

import pytest

from glmv_ui.conversation import Turn
from glmv_ui.engines.base import Stats
from glmv_ui.media.parts import MediaPart
from glmv_ui.nb.render import reply_html
from glmv_ui.reply import Reply, ReplyStream, build_reply
from glmv_ui.turn_reply import final_reply, reply_for
from glmv_ui.ui.views import turn_messages
from tests.helpers import red_image, require_corpus

GUI_CASES = [
    # A click with its own box: drawn once, as the action (the app used to draw it twice).
    '{"action_type": "click", "box_2d": [[100,200,300,400]], "element_info": "Search"}',
    'Action: {"action_type": "input_text", "text": "hello", "box_2d": [[1,2,300,400]]}',
    "left_click(start_box='[512,300]') then the field <|begin_of_box|>[40,50,90,95]<|end_of_box|>",
    "CLICK(point=(12, 34), box=[[5,6,70,80]])",
]
GROUNDING_CASES = [
    "The red ball <|begin_of_box|>[100,200,300,400]<|end_of_box|> and the blue boxes "
    "<|begin_of_box|>[[500,500,600,700],[10,10,50,50]]<|end_of_box|>.",
    "猫的位置<|begin_of_box|>[1,2,300,400]<|end_of_box|>，狗在<|begin_of_box|>[400,2,900,600]"
    "<|end_of_box|>",
    'Found: [{"label": "a|b <tag>", "bbox_2d": [120,130,340,350]}]',
]
PAGE = (
    "Here is the page:\n<!DOCTYPE html>\n<html>\n<head><title>T</title></head>\n"
    "<body><h1>Hi</h1></body>\n</html>\nDone."
)


def _corpus_raws() -> list[tuple[str, str]]:
    folder = require_corpus("raw_outputs")
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.txt"))]


CASES = [
    *_corpus_raws(),
    *((f"gui{i}", raw) for i, raw in enumerate(GUI_CASES)),
    *((f"boxes{i}", raw) for i, raw in enumerate(GROUNDING_CASES)),
    ("page", PAGE),
    ("stopped", "<think>a</think>partial [10,20,30,40] answ"),
    ("cut", "<think>" + "long thought " * 20),
]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _app_view(reply: Reply) -> dict[str, Any]:
    """What the app shows, read back from its Chatbot messages."""
    figure = "/tmp/figure.png" if reply.figure is not None else None
    messages = turn_messages("q", [], reply, figure)
    texts = [
        m["content"].get("text", "")
        for m in messages
        if isinstance(m["content"], dict) and m["role"] == "assistant" and not m.get("metadata")
    ]
    rows = []
    for text in texts:
        for line in text.splitlines():
            if line.startswith('| <span class="glmv-swatch"'):
                cells = _cells(line)
                number = re.sub(r"<[^>]+>", "", cells[0]).replace("→", "").strip()
                # The label is Markdown with every active character backslash-escaped.
                label = html.unescape(re.sub(r"\\(.)", r"\1", cells[1]))
                rows.append((int(number), label, _canon(cells[2])))
    images = [m for m in messages if isinstance(m["content"], dict) and "path" in m["content"]]
    return {"rows": rows, "figures": len(images), "text": "\n".join(texts)}


def _canon(where: str) -> str:
    """A legend's coordinates without brackets or spaces: ``214,100·198,92,229,107``."""
    return re.sub(r"[\[\]\s]", "", where)


def _where(row: Any) -> str:
    """The coordinates a legend row lists: the point or box, then an action's own box."""
    grid = ",".join(f"{v:g}" for v in row.grid)
    box = ",".join(f"{v:g}" for v in row.box)
    return "·".join(w for w in (grid, box) if w)


def _nb_view(reply: Reply) -> dict[str, Any]:
    """What the notebook shows, read back from its HTML."""
    out = reply_html(reply)
    rows = []
    for row in re.findall(r"<tr><td style=\"color:[^\"]+\">(.*?)</tr>", out):
        cells = re.findall(r"<td>(.*?)</td>", "<td>" + row)
        number = cells[0].split()[-1]
        rows.append((int(number), html.unescape(cells[1]), _canon(cells[2])))
    return {"rows": rows, "figures": out.count("<figure"), "html": out}


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[c[0] for c in CASES])
def test_app_and_notebook_show_the_same_reply(name: str, raw: str) -> None:
    image = MediaPart(kind="image", source="screen.png", image=red_image(400, 300))
    status = "cancelled" if name == "stopped" else "done"
    stats = Stats(generated_tokens=99, finish_reason="length") if name == "cut" else Stats()
    reply = build_reply(raw, [image], stats=stats, status=status)
    app, nb = _app_view(reply), _nb_view(reply)

    expected = [(r.number, r.label, _canon(_where(r))) for r in reply.legend()]
    assert app["rows"] == expected
    assert nb["rows"] == expected
    assert app["figures"] == nb["figures"] == (1 if reply.figure is not None else 0)
    # An action's own box is drawn with the action, never a second time as a box.
    action_boxes = {(a.box.x1, a.box.y1, a.box.x2, a.box.y2) for a in reply.actions if a.box}
    assert not action_boxes & {(b.x1, b.y1, b.x2, b.y2) for b in reply.boxes}
    for notice in reply.notices:
        assert notice.text() in app["text"]
        assert html.escape(notice.text()) in nb["html"]
    if reply.html is not None:
        assert html.escape(reply.html, quote=True) in nb["html"]  # the sandboxed preview
        assert "```html" in app["text"]


def test_gui_click_with_box_2d_is_one_action_and_no_box() -> None:
    reply = build_reply(GUI_CASES[0], [red_image()])
    assert [a.name for a in reply.actions] == ["click"]
    assert reply.boxes == ()
    assert len(reply.legend()) == 1


def test_notices_come_from_the_outcome() -> None:
    assert [n.kind for n in build_reply("x", status="cancelled").notices] == ["stopped"]
    failed = build_reply("", status="error", error="boom").notices
    assert failed[0].kind == "failed"
    assert "boom" in failed[0].text()
    limit = build_reply("an", stats=Stats(generated_tokens=8, finish_reason="length")).notices
    assert limit[0].kind == "length"
    assert "8 tokens" in limit[0].text()
    assert build_reply("fine", stats=Stats(finish_reason="stop")).notices == ()


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[c[0] for c in CASES])
def test_streamed_reply_equals_the_reply_built_from_raw(name: str, raw: str) -> None:
    rng = random.Random(name)
    stream = ReplyStream()
    i = 0
    while i < len(raw):
        step = rng.randint(1, 9)
        stream.feed(raw[i : i + step])
        i += step
        stream.snapshot()  # reading mid-stream changes nothing
    stream.finish()
    image = MediaPart(kind="image", source="a.png", image=red_image())
    turn = Turn("q", parts=[image], raw=raw)
    streamed = final_reply(stream, [turn], 0)
    built = build_reply(raw, [image])
    for field in (
        "thinking",
        "answer",
        "boxed_spans",
        "text",
        "html",
        "boxes",
        "actions",
        "image_index",
        "truncated",
        "thinking_closed",
    ):
        assert getattr(streamed, field) == getattr(built, field), field


def test_reply_is_cached_on_the_turn_until_the_raw_text_changes() -> None:
    turn = Turn("q", raw="<think>a</think>first")
    first = reply_for([turn], 0)
    assert reply_for([turn], 0) is first
    turn.raw = "<think>a</think>second"
    second = reply_for([turn], 0)
    assert second is not first
    assert second.answer == "second"


def test_follow_up_boxes_are_drawn_on_the_earlier_turns_image() -> None:
    photo = MediaPart(kind="image", source="photo.png", image=red_image(200, 100))
    turns = [
        Turn("look", parts=[photo], raw="a cat"),
        Turn("where?", raw="<|begin_of_box|>[10,20,300,400]<|end_of_box|>"),
    ]
    reply = reply_for(turns, 1)
    assert reply.figure is photo
    assert reply.annotated_image().size == (200, 100)
