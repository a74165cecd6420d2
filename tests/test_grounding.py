"""Tests for boxes and GUI-agent actions (glmv_ui.grounding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glmv_ui.grounding import (
    BOX_COLORS,
    Action,
    Box,
    boxes_table,
    boxes_to_json,
    choose_image_index,
    draw_boxes,
    find_actions,
    find_boxes,
    highlight_boxes_markdown,
    with_box_markers,
)
from glmv_ui.stream import parse_raw
from tests.helpers import require_corpus

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "raw_outputs"


def _coords(boxes: list[Box]) -> list[tuple[float, ...]]:
    return [(b.x1, b.y1, b.x2, b.y2) for b in boxes]


def _corpus_answer(name: str) -> str:
    path = require_corpus("raw_outputs", name)
    return parse_raw(path.read_text(encoding="utf-8")).answer


# -- find_boxes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inner",
    ["[100,200,300,400]", "[[100,200,300,400]]", "(100,200,300,400)", "<100,200,300,400>"],
)
def test_bracket_styles_inside_markers(inner: str) -> None:
    boxes = find_boxes(f"It is here: <|begin_of_box|>{inner}<|end_of_box|>.")
    assert _coords(boxes) == [(100, 200, 300, 400)]


def test_spaces_decimals_and_bare_numbers_inside_markers() -> None:
    assert _coords(find_boxes("<|begin_of_box|>[10.5 20 30 40.25]<|end_of_box|>")) == [
        (10.5, 20, 30, 40.25)
    ]
    assert _coords(find_boxes("<|begin_of_box|>10, 20, 300, 400<|end_of_box|>")) == [
        (10, 20, 300, 400)
    ]


def test_unterminated_marker_still_yields_box() -> None:
    assert _coords(find_boxes("the dog <|begin_of_box|>[[1,2,300,400]]")) == [(1, 2, 300, 400)]


def test_several_boxes_in_one_list_share_the_label() -> None:
    boxes = find_boxes("Dogs: <|begin_of_box|>[[10,20,30,40],[50,60,70,80]]<|end_of_box|>")
    assert _coords(boxes) == [(10, 20, 30, 40), (50, 60, 70, 80)]
    assert [b.label for b in boxes] == ["Dogs", "Dogs"]
    assert [b.index for b in boxes] == [1, 2]


def test_plain_list_outside_markers() -> None:
    boxes = find_boxes("the cat is at [100,200,300,400] and the dog at [500, 500, 900, 990].")
    assert _coords(boxes) == [(100, 200, 300, 400), (500, 500, 900, 990)]
    assert [b.label for b in boxes] == ["cat", "dog"]


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("the red car <|begin_of_box|>[100,200,300,400]<|end_of_box|>", "red car"),
        ("red car: [100,200,300,400]", "red car"),
        ("- **Traffic light**: [100,200,300,400]", "Traffic light"),
        ("In image 2, the man in a blue hat is located at [100,200,300,400]", "man in a blue hat"),
        ("红色汽车\uff1a[100,200,300,400]", "红色汽车"),
        ("<|begin_of_box|>[100,200,300,400]<|end_of_box|>", ""),
        (
            "Sure. Here is the long description of everything I could see in it [100,200,300,400]",
            "",
        ),
        ('[{"label": "cat", "bbox_2d": [100,200,300,400]}]', "cat"),
    ],
)
def test_labels(text: str, label: str) -> None:
    (box,) = find_boxes(text)
    assert box.label == label


@pytest.mark.parametrize(
    "text",
    [
        "The city has 1,000,000 people.",
        "[1,000,000,5]",
        "the point (3, 4) and (100, 200)",
        "years [2019, 2020, 2021, 2022]",
        "five numbers [100,200,300,400,500]",
        "over the grid [100,200,300,1001]",
        "x2 before x1 [300,200,100,400]",
        "y2 before y1 [100,400,300,200]",
        "zero width [100,200,100,400]",
        "negative [-5,200,300,400]",
        "a small list [1, 2, 3, 4]",
        "round brackets outside markers (100, 200, 300, 400)",
        "inline code `[10, 20, 300, 400]`",
        "```python\nx = [10, 20, 300, 400]\n```",
        "a point <|begin_of_box|>[500, 600]<|end_of_box|>",
        "text only <|begin_of_box|>Molson Coors Brewery<|end_of_box|>",
    ],
)
def test_non_boxes(text: str) -> None:
    assert find_boxes(text) == []


def test_parsed_answer_with_spans_keeps_marker_rules() -> None:
    reply = parse_raw("<think>t</think>The cat <|begin_of_box|>(1,2,30,40)<|end_of_box|>.")
    assert find_boxes(reply.answer) == []  # outside markers: round brackets and tiny values
    assert _coords(find_boxes(reply.answer, reply.boxed_spans)) == [(1, 2, 30, 40)]
    restored = with_box_markers(reply.answer, reply.boxed_spans)
    assert restored == "The cat <|begin_of_box|>(1,2,30,40)<|end_of_box|>."


def test_keyed_box_inside_code_fence_counts() -> None:
    text = '```json\n[{"label": "cat", "bbox_2d": [100,200,300,400]}]\n```'
    assert _coords(find_boxes(text)) == [(100, 200, 300, 400)]


def test_image_index_from_text() -> None:
    boxes = find_boxes(
        "In image 2 the cat is at [100,200,300,400]. 第3张图中狗在[10,20,300,400]。"
        " On page 1: [500,500,600,600]. The second picture shows [1,1,900,900]"
    )
    assert [b.image_index for b in boxes] == [1, 2, 0, 1]
    assert find_boxes("a cat [100,200,300,400]")[0].image_index is None


def test_to_pixels_maps_and_clamps() -> None:
    assert Box(100, 200, 300, 400).to_pixels(1000, 500) == (100, 100, 300, 200)
    assert Box(0, 0, 1000, 1000).to_pixels(640, 480) == (0, 0, 640, 480)
    assert Box(0, 0, 1, 1).to_pixels(10, 10) == (0, 0, 0, 0)


def test_choose_image_index() -> None:
    two = [Box(1, 1, 9, 9, image_index=1), Box(1, 1, 9, 9, image_index=1)]
    assert choose_image_index([], 3) == 2
    assert choose_image_index([Box(1, 1, 9, 9)], 3) == 2
    assert choose_image_index(two, 3) == 1
    assert choose_image_index([Box(1, 1, 9, 9, image_index=7)], 3) == 2  # out of range
    assert choose_image_index([*two, Box(1, 1, 9, 9, image_index=0)], 3) == 1
    assert choose_image_index([], 0) == 0


# -- find_actions ----------------------------------------------------------------------------


def test_pc_actions() -> None:
    text = (
        "Thought: close the dialog.\n"
        "Action: left_click(start_box='[586, 446]', element_info='OK button')\n"
        "type(content='it\\'s done')\n"
        "scroll(start_box='[500,500]', direction='down', step=5)\n"
        "left_drag(start_box='[10,20]', end_box='[30,40]')\n"
        "WAIT()"
    )
    actions = find_actions(text)
    assert [a.name for a in actions] == ["left_click", "type", "scroll", "left_drag", "WAIT"]
    click, typed, scroll, drag, _ = actions
    assert click.point == (586, 446)
    assert click.args["element_info"] == "OK button"
    assert typed.args["content"] == "it's done"
    assert typed.point is None
    assert (scroll.point, scroll.args["direction"]) == ((500, 500), "down")
    assert drag.args["end_box"] == "[30,40]"


def test_prose_calls_are_not_actions() -> None:
    assert find_actions("Call print(x) or open(path, mode='r'); see f(3, 4).") == []


def test_calls_cut_off_by_the_token_limit_keep_what_is_there() -> None:
    # The cut value is read as written: "[12,3" gives the point (12, 3).
    assert find_actions("Action: left_click(start_box='[12,3") == [
        Action("left_click", (12, 3), None, {"start_box": "[12,3"}, "left_click(start_box='[12,3")
    ]
    (click,) = find_actions("CLICK(point=(214, 100), box=[[198,92")
    assert (click.point, click.box, click.args["box"]) == ((214, 100), None, "[[198,92")
    assert click.raw == "CLICK(point=(214, 100), box=[[198,92"
    (typed,) = find_actions("type(content='it\\'s do")
    assert (typed.args, typed.raw) == ({"content": "it's do"}, "type(content='it\\'s do")
    (typed,) = find_actions("type(content='ends in \\")
    assert typed.args == {"content": "ends in \\"}


def test_quoted_values_hold_brackets_and_commas() -> None:
    (typed, click) = find_actions("type(content='a)b, [c' ) x\nclick(start_box=\"[1,2]\")")
    assert typed.args == {"content": "a)b, [c"}
    assert typed.raw == "type(content='a)b, [c' )"
    assert click.point == (1, 2)


def test_braces_that_are_not_objects_do_not_break_actions() -> None:
    # {[0,1]} reads as a Python set of lists, which cannot exist (TypeError, not ValueError).
    assert find_actions("Let $x \\in {[0,1]}$ and {[1, 2]: 3}; then tap(5, 6)") == [
        Action("tap", (5, 6), None, {"arg0": "5", "arg1": "6", "point": "[5.0, 6.0]"}, "tap(5, 6)")
    ]


def test_long_transcript_keeps_every_action_once() -> None:
    step = (
        '{"action": "click", "note": "left_click(start_box=\'[1,2]\')"}\n'
        "left_click(start_box='[3,4]', note='Action: Wait')\n"
        "Action: GoBack\n"
    )
    actions = find_actions(step * 300)
    assert [a.name for a in actions] == ["click", "left_click", "goback"] * 300
    assert {a.point for a in actions if a.name == "left_click"} == {(3, 4)}


def test_webvoyager_action_with_point_and_box() -> None:
    (action,) = find_actions(_corpus_answer("fx02_webvoyager_action_point_and_box.txt"))
    assert action.name == "CLICK"
    assert action.point == (214, 100)
    assert action.box is not None
    assert (action.box.x1, action.box.y1, action.box.x2, action.box.y2) == (198, 92, 229, 107)
    assert action.args["element_info"] == "Dinners"
    (box,) = find_boxes(_corpus_answer("fx02_webvoyager_action_point_and_box.txt"))
    assert box.label == "Dinners"


def test_androidworld_json_action() -> None:
    answer = _corpus_answer("fx03_androidworld_json_action.txt")
    (action,) = find_actions(answer)
    assert action.name == "click"
    assert action.point is None
    assert action.box is not None
    # GLM's box_2d is [xmin, ymin, xmax, ymax]
    assert (action.box.x1, action.box.y1, action.box.x2, action.box.y2) == (503, 580, 718, 702)
    assert action.target == (610.5, 641.0)
    assert _coords(find_boxes(answer)) == [(503, 580, 718, 702)]


def test_json_actions_variants() -> None:
    text = (
        '{"action_type": "input_text", "text": "hello", "box_2d": [[1,2,300,400]], '
        '"override": true}\n'
        '{"action": "click", "coordinate": [120, 340]}\n'
        "{'action_type': 'swipe', 'direction': 'up'}\n"
        '{"name": "mobile_use", "arguments": {"action": "long_press", "coordinate": [5, 6]}}\n'
        '{"color": "red"}'
    )
    actions = find_actions(text)
    assert [a.name for a in actions] == ["input_text", "click", "swipe", "long_press"]
    assert actions[0].args["text"] == "hello"
    assert actions[0].args["override"] == "true"
    assert actions[1].point == (120, 340)
    assert actions[2].args["direction"] == "up"
    assert actions[3].point == (5, 6)


def test_web_labelled_actions() -> None:
    text = "Thought: x\nAction: Type [2]; [5$]\nAction: Scroll [WINDOW]; [down]\nAction: GoBack"
    actions = find_actions(text)
    assert [a.name for a in actions] == ["type", "scroll", "goback"]
    assert actions[0].args == {"element": "2", "content": "5$"}
    assert actions[1].args["direction"] == "down"
    answer = find_actions("Action: ANSWER; <content>Guatemala</content>")
    assert answer[0].args["content"] == "Guatemala"


def test_every_corpus_output_runs_through() -> None:
    for path in sorted(require_corpus("raw_outputs").iterdir()):
        reply = parse_raw(path.read_text(encoding="utf-8"))
        boxes = find_boxes(reply.answer)
        actions = find_actions(reply.answer)
        html = highlight_boxes_markdown(reply.answer)
        assert "<|begin_of_box|>" not in html
        for box in boxes:
            assert 0 <= box.x1 < box.x2 <= 1000
        assert all(a.name for a in actions)
        if not path.name.startswith("fx"):
            assert actions == [], path.name  # captions and chat carry no GUI actions


_DINNERS = Box(198, 92, 229, 107, "Dinners", 1)
_ORGAN = Box(503, 580, 718, 702, "click", 1)
# What every corpus output gives; a file not named here gives no box and no action.
_CORPUS_GROUNDING: dict[str, tuple[list[Box], list[Action]]] = {
    "fx02_webvoyager_action_point_and_box.txt": (
        [_DINNERS],
        [
            Action(
                "CLICK",
                (214, 100),
                _DINNERS,
                {"point": "(214, 100)", "box": "[[198,92,229,107]]", "element_info": "Dinners"},
                "CLICK(point=(214, 100), box=[[198,92,229,107]], element_info='Dinners')",
            )
        ],
    ),
    "fx03_androidworld_json_action.txt": (
        [_ORGAN],
        [
            Action(
                "click",
                None,
                _ORGAN,
                {"box_2d": "[[503, 580, 718, 702]]"},
                '{"action_type": "click", "box_2d": [[503,580,718,702]]}',
            )
        ],
    ),
}


def test_corpus_boxes_and_actions_are_pinned() -> None:
    for path in sorted(require_corpus("raw_outputs").iterdir()):
        raw = path.read_text(encoding="utf-8")
        reply = parse_raw(raw)
        boxes, actions = _CORPUS_GROUNDING.get(path.name, ([], []))
        assert find_boxes(reply.answer) == boxes, path.name
        assert find_boxes(reply.answer, reply.boxed_spans) == boxes, path.name
        assert find_boxes(raw) == boxes, path.name  # thinking and tags add nothing
        assert find_actions(reply.answer) == actions, path.name
        assert find_actions(raw) == actions, path.name
    assert {p.name for p in CORPUS.iterdir()} >= set(_CORPUS_GROUNDING)


# -- presentation ----------------------------------------------------------------------------


def test_highlight_boxes_markdown() -> None:
    out = highlight_boxes_markdown("A <|begin_of_box|>x < y & z<|end_of_box|> b")
    assert out == 'A <mark class="glmv-box">x &lt; y &amp; z</mark> b'
    unterminated = highlight_boxes_markdown("A <|begin_of_box|>to the end")
    assert unterminated == 'A <mark class="glmv-box">to the end</mark>'
    multi = highlight_boxes_markdown("<|begin_of_box|>Title:\n\nBody<|end_of_box|><|end_of_box|>")
    assert multi == '<mark class="glmv-box">Title:</mark>\n\n<mark class="glmv-box">Body</mark>'
    assert highlight_boxes_markdown("no boxes `List<String>`") == "no boxes `List<String>`"


def test_table_and_json_export() -> None:
    boxes = find_boxes("cat: [100,200,300,400]")
    rows = boxes_table(boxes, 1000, 500)
    assert rows[0]["label"] == "cat"
    assert (rows[0]["left"], rows[0]["top"], rows[0]["right"], rows[0]["bottom"]) == (
        100,
        100,
        300,
        200,
    )
    data = json.loads(boxes_to_json(boxes, 1000, 500, source="cat.jpg"))
    assert data["source"] == "cat.jpg"
    assert data["image"] == {"width": 1000, "height": 500}
    assert data["boxes"][0]["x1"] == 100


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def test_draw_boxes_changes_edges_only() -> None:
    from PIL import Image

    image = Image.new("RGB", (400, 200), "white")
    box = Box(100, 200, 300, 400, label="cat", index=1)  # pixels (40, 40, 120, 80)
    out = draw_boxes(image, [box])
    assert out is not image
    assert image.getpixel((40, 60)) == (255, 255, 255)  # the input is untouched
    assert out.getpixel((40, 60)) == _hex(BOX_COLORS[0])  # left edge
    assert out.getpixel((120, 60)) == _hex(BOX_COLORS[0])  # right edge
    assert out.getpixel((80, 80)) == _hex(BOX_COLORS[0])  # bottom edge
    assert out.getpixel((80, 62)) == (255, 255, 255)  # inside
    assert out.getpixel((300, 150)) == (255, 255, 255)  # far away
    tag_pixels = [out.getpixel((x, y)) for x in range(40, 60) for y in range(25, 40)]
    assert _hex(BOX_COLORS[0]) in tag_pixels  # the filled index tag above the box


def test_draw_boxes_second_box_has_its_own_colour_and_point_is_drawn() -> None:
    from PIL import Image

    image = Image.new("RGB", (400, 200), "white")
    boxes = find_boxes("[[100,200,300,400],[600,200,900,400]]")
    actions = find_actions("left_click(start_box='[500,800]')")
    out = draw_boxes(image, boxes, actions)
    assert out.getpixel((240, 60)) == _hex(BOX_COLORS[1])
    assert out.getpixel((200, 160)) == _hex(BOX_COLORS[2])  # crosshair centre
    assert out.getpixel((330, 20)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "size"), [("RGBA", (50, 30)), ("L", (3000, 2000)), ("RGB", (1, 1))]
)
def test_draw_boxes_any_mode_and_size(mode: str, size: tuple[int, int]) -> None:
    from PIL import Image

    image = Image.new(mode, size)
    out = draw_boxes(image, [Box(0, 0, 1000, 1000, label="全图", index=3)])
    assert out.size == size
    assert out.mode == "RGB"


def test_labels_keep_box_as_an_object_name_but_not_as_a_connector():
    labels = [
        b.label
        for b in find_boxes(
            "The red ball [125,521,281,729], the blue box [547,438,781,750] and the sun "
            "[812,62,938,229]."
        )
    ]
    assert labels == ["red ball", "blue box", "sun"]
    assert [b.label for b in find_boxes("The bounding box of the dog is [100,200,300,400]")] == [
        "dog"
    ]
    assert [b.label for b in find_boxes("Cat bounding box: [10,20,300,400]")] == ["Cat"]
