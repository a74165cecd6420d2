"""Export / import of conversations: JSON round trip, Markdown, LLaMA-Factory records."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest

from glmv_ui import importer
from glmv_ui.config import MediaLimits
from glmv_ui.conversation import Conversation, Turn, TurnSettings
from glmv_ui.engines.base import Stats
from glmv_ui.errors import ConversationError, MediaBudgetError, MediaError
from glmv_ui.export import (
    FORMAT,
    from_json,
    to_json,
    to_llamafactory,
    to_markdown,
    write_export,
)
from glmv_ui.media.parts import MediaPart
from tests.helpers import red_image
from tests.mediafiles import measure

RAW41 = (
    "<think>The players wear red.</think><answer>They are at "
    "<|begin_of_box|>[10,20,300,400]<|end_of_box|>.</answer>"
)


def _turns() -> list[Turn]:
    image = MediaPart(kind="image", source="team.png", image=red_image())
    page = MediaPart(
        kind="image", source="doc.pdf", image=red_image(60, 80, "blue"), page=2, page_count=3
    )
    return [
        Turn(
            "Who are they?",
            [image, page],
            raw=RAW41,
            status="done",
            stats=Stats(prompt_tokens=120, visual_tokens=100, generated_tokens=30),
            # A key the record does not declare (as an old or hand-edited file may hold).
            settings=cast(TurnSettings, {"temperature": 0.3, "top_p": 0.6, "api_key": "sk-secret"}),
        ),
        Turn("And now?", [], raw="<think>Hmm", status="cancelled"),
    ]


def test_json_round_trip_keeps_text_media_raw_and_settings() -> None:
    turns = _turns()
    text = to_json(Conversation(turns, system_prompt="Be brief.", model="m", family="glm4v"))
    back = from_json(text)
    assert back.model == "m"
    assert back.system_prompt == "Be brief."
    assert [t.text for t in back.turns] == ["Who are they?", "And now?"]
    assert back.turns[0].raw == RAW41
    assert back.turns[1].status == "cancelled"
    assert back.turns[0].stats == turns[0].stats
    first, second = back.turns[0].parts
    assert first.source == "team.png"
    assert first.image.getpixel((5, 5)) == (255, 0, 0)
    assert second.page == 2
    assert second.page_count == 3
    assert second.image.size == (60, 80)
    assert back.turns[0].settings == {"temperature": 0.3, "top_p": 0.6}


def test_exports_never_hold_api_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLMV_API_KEY", "sk-secret")
    for fmt in ("json", "markdown", "llamafactory"):
        path = write_export(Conversation(_turns(), model="m"), fmt, tmp_path / fmt)
        data = path.read_bytes()
        if fmt == "llamafactory":
            with zipfile.ZipFile(path) as zf:
                data = zf.read("data.json")
        assert b"sk-secret" not in data
        assert b"api_key" not in data


def test_llamafactory_record_follows_the_readme_example() -> None:
    record, files = to_llamafactory(Conversation(_turns(), family="glm4v"))
    # the cancelled turn without an answer is left out; thinking removed, <answer> kept (4.1V)
    assert record["messages"] == [
        {"role": "user", "content": "<image><image>Who are they?"},
        {
            "role": "assistant",
            "content": "<answer>They are at <|begin_of_box|>[10,20,300,400]<|end_of_box|>."
            "</answer>",
        },
    ]
    assert record["images"] == ["images/0000.png", "images/0001.png"]
    assert [name for name, _ in files] == record["images"]
    record45, _ = to_llamafactory(
        Conversation(_turns()[:1], family="glm4v_moe"), include_thinking=True
    )
    assert record45["messages"][1]["content"].startswith("<think>\nThe players wear red.</think>")
    assert "<answer>" not in record45["messages"][1]["content"]


def test_video_frames_become_a_video_entry(tmp_path: Path) -> None:
    video = MediaPart(
        kind="video", source="clip.mp4", frames=(red_image(), red_image()), timestamps=(0.0, 0.5)
    )
    turn = Turn("What happens?", [video], raw="<think></think>A red screen.", status="done")
    record, files = to_llamafactory(Conversation([turn], family="glm4v_moe"))
    assert record["messages"][0]["content"] == "<video>What happens?"
    assert record["videos"] == [["images/0000.png", "images/0001.png"]]
    assert len(files) == 2
    path = write_export(Conversation([turn], family="glm4v_moe"), "llamafactory", tmp_path)
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("data.json"))[0] == record
        assert set(zf.namelist()) == {"data.json", "images/0000.png", "images/0001.png"}
    back = from_json(to_json(Conversation([turn])))
    assert back.turns[0].parts[0].timestamps == (0.0, 0.5)


def test_markdown_lists_media_and_folds_thinking() -> None:
    md = to_markdown(Conversation(_turns(), model="GLM-4.1V"))
    assert "# Conversation with GLM-4.1V" in md
    assert "*image: doc.pdf p. 2*" in md
    assert "<details><summary>Thought</summary>" in md  # imported turns have no thinking time
    assert "Stopped" in md
    assert "120 prompt tokens" in md


def test_import_refuses_other_files() -> None:
    with pytest.raises(
        ConversationError,
        match=r"^x.json: is not a valid JSON file \(it breaks "
        r"off or is malformed at line 1\)",
    ):
        from_json("{nope", "x.json")
    with pytest.raises(ConversationError, match="not a conversation"):
        from_json('{"turns": []}', "x.json")


# --- import through the upload rules -------------------------------------------------------


def _payload(parts: list[dict[str, Any]], **turn: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": 1,
        "model": "m",
        "family": "glm4v",
        "turns": [{"text": "hi", "parts": parts, "raw": "", "status": "done", **turn}],
    }


def _png(image: Any) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _image_part(image: Any, source: str = "photo.png") -> dict[str, Any]:
    return {"kind": "image", "source": source, "image": _png(image)}


@pytest.mark.slow  # builds a huge image
def test_a_huge_embedded_image_is_refused_from_its_header(tmp_path: Path) -> None:
    from PIL import Image

    huge = Image.new("1", (13000, 13000), 1)  # one colour: the PNG is a few kB
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_payload([_image_part(huge, "huge.png")])), encoding="utf-8")
    assert path.stat().st_size < 1_000_000
    result = measure(
        f"read_json({str(path)!r})", "import PIL.Image; from glmv_ui.export import read_json"
    )
    assert result.error_type == "MediaBudgetError"
    assert result.error == (
        "big.json (turn 1, part 1, huge.png): is 13000x13000 pixels, more "
        "than the 64 megapixels that can be opened safely; reduce its size "
        "and upload it again"
    )
    assert result.rss_growth_mb < 64  # decoded, it would be 507 MB as RGB


def test_too_many_images_are_refused_by_count_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    monkeypatch.setattr(importer, "load_image", lambda *a, **k: decoded.append(a[1]))
    parts = [_image_part(red_image(8, 8), f"p{i}.png") for i in range(200)]
    with pytest.raises(
        MediaBudgetError,
        match=r"^c.json \(turn 1, part 17, p16.png\): cannot "
        r"join this conversation: it already holds 16 "
        r"images",
    ):
        from_json(json.dumps(_payload(parts)), "c.json")
    assert decoded == []


def test_a_conversation_over_the_token_budget_is_refused() -> None:
    parts = [_image_part(red_image(1000, 1000), f"p{i}.png") for i in range(4)]
    limits = MediaLimits(context_tokens=4000, reserve_tokens=0)
    with pytest.raises(
        MediaBudgetError,
        match=r"^c.json: would bring the conversation to about "
        r"5,\d+ visual tokens, more than the 4,000 "
        r"available",
    ):
        from_json(json.dumps(_payload(parts)), "c.json", limits)
    assert len(from_json(json.dumps(_payload(parts[:2])), "c.json", limits).turns[0].parts) == 2


@pytest.mark.slow  # decodes every media kind
def test_import_applies_the_upload_rules_to_media() -> None:
    video = {
        "kind": "video",
        "source": "clip.mp4",
        "frames": [_png(red_image())] * 4,
        "timestamps": [0, 0.5, 1, 1.5],
    }
    with pytest.raises(
        MediaBudgetError,
        match=r"part 2, clip.mp4\): cannot join this "
        r"conversation, which already holds images",
    ):
        from_json(json.dumps(_payload([_image_part(red_image()), video])), "c.json")
    with pytest.raises(
        MediaError,
        match=r"clip.mp4\): is a video of 4 frames; videos are "
        r"sampled to at most 2: export the conversation",
    ):
        from_json(json.dumps(_payload([video])), "c.json", MediaLimits(video_max_frames=2))
    # a large picture is downscaled like an uploaded one, and says so
    back = from_json(json.dumps(_payload([_image_part(red_image(3000, 2000))])), "c.json")
    part = back.turns[0].parts[0]
    assert part.image.width * part.image.height <= MediaLimits().image_max_pixels
    assert [str(n) for n in part.notes] == ["downscaled from 3000x2000 to 1763x1175 pixels"]
    frames = (
        from_json(
            json.dumps(_payload([dict(video, frames=[_png(red_image(900, 600))] * 4)])), "c.json"
        )
        .turns[0]
        .parts[0]
        .frames
    )
    assert frames[0].width * frames[0].height <= 448 * 448
    with pytest.raises(MediaBudgetError, match=r"^c.json: is 2 MB; uploads are limited to 1 MB"):
        from_json(" " * 2 * 2**20, "c.json", MediaLimits(max_upload_mb=1))


GOOD_PART = {"kind": "image", "source": "p.png", "image": "PLACEHOLDER"}
MALFORMED: list[tuple[str, Any, str]] = [
    ("not an object", [1, 2], r"^c.json: is not a conversation exported by this app; import "),
    ("turns not a list", {"turns": {"a": 1}}, r"^c.json: 'turns' must be a list, not an object$"),
    ("turn not an object", {"turns": ["hi"]}, r"^c.json: turn 1: must be an object"),
    (
        "missing source",
        {"parts": [{"kind": "image", "image": "x"}]},
        r"^c.json: turn 1, part 1: 'source' is missing$",
    ),
    (
        "unknown kind",
        {"parts": [dict(GOOD_PART, kind="audio")]},
        r"^c.json: turn 1, part 1: 'kind' must be one of image, video, not 'audio'$",
    ),
    (
        "page not a number",
        {"parts": [dict(GOOD_PART, page="two")]},
        r"^c.json: turn 1, part 1: 'page' must be a whole number, not a string$",
    ),
    ("page zero", {"parts": [dict(GOOD_PART, page=0)]}, r"page and slide numbers start at 1$"),
    (
        "unknown stats field",
        {"stats": {"prompt_tokens": 3, "bogus": 1}},
        r"^c.json: turn 1, stats: has an unknown field 'bogus'$",
    ),
    (
        "stats of the wrong type",
        {"stats": {"prompt_tokens": "many"}},
        r"^c.json: turn 1, stats: 'prompt_tokens' must be a whole number, not a string$",
    ),
    (
        "a setting of the wrong type",
        {"settings": {"temperature": "hot"}},
        r"^c.json: turn 1, settings: 'temperature' must be a number, not a string$",
    ),
    ("unknown status", {"status": "exploded"}, r"^c.json: turn 1: 'status' must be one of "),
    (
        "huge text",
        {"text": "x" * 1_000_001},
        r"^c.json: turn 1: 'text' has 1,000,001 characters; at most 1,000,000 are accepted$",
    ),
    (
        "huge source name",
        {"parts": [dict(GOOD_PART, source="x" * 2000)]},
        r"'source' has 2,000 characters; at most 1,000",
    ),
    (
        "odd video",
        {"parts": [{"kind": "video", "source": "v.mp4", "frames": ["a"], "timestamps": [0]}]},
        r"a video needs an even number of frames, each with a timestamp$",
    ),
    (
        "not base64",
        {"parts": [dict(GOOD_PART, image="data:image/png;base64,@@@")]},
        r"^c.json \(turn 1, part 1, p.png\): holds a picture whose data is damaged",
    ),
    (
        "not an image",
        {"parts": [dict(GOOD_PART, image=base64.b64encode(b"hello").decode())]},
        r"^c.json \(turn 1, part 1, p.png\): cannot be read as an image",
    ),
    ("newer version", {"__top__": {"version": 7}}, r"^c.json: was written by a newer version"),
    ("unknown family", {"__top__": {"family": "gpt"}}, r"^c.json: 'family' must be one of"),
    (
        "too deep",
        "[" * 100_000,
        r"^c.json: is not a conversation exported by this app \(its "
        r"data is nested too deeply\)",
    ),
    (
        "huge number",
        '{"format": "' + FORMAT + '", "version": ' + "9" * 5000 + "}",
        r"^c.json: is not a valid JSON file; import a file exported by this app$",
    ),
]


@pytest.mark.parametrize(("case", "change", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_import_says_what_is_wrong(case: str, change: Any, message: str) -> None:
    if isinstance(change, str):
        text = change
    elif isinstance(change, list):
        text = json.dumps(change)
    else:
        payload = _payload([])
        payload.update(change.pop("__top__", {}) if "__top__" in change else {})
        if "turns" in change:
            payload["turns"] = change["turns"]
        else:
            payload["turns"][0].update(change)
        good = _png(red_image(8, 8))
        text = json.dumps(payload).replace('"PLACEHOLDER"', json.dumps(good))
    with pytest.raises((ConversationError, MediaError), match=message):
        from_json(text, "c.json")
