"""The engine seam's records: what build_messages makes, what crosses a pickling boundary, and
the JSON the remote engine makes of them."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from typing import Any

import pytest

from glmv_ui.config import Sampling
from glmv_ui.conversation import Turn
from glmv_ui.engines.base import GenerationRequest
from glmv_ui.engines.local import LocalEngine, chat_template_messages
from glmv_ui.engines.remote import RemoteEngine
from glmv_ui.engines.zerogpu import GpuJob, StopFlag
from glmv_ui.media.parts import MediaPart
from glmv_ui.messages import (
    AssistantMessage,
    ImagePart,
    Message,
    SystemMessage,
    TextPart,
    UserMessage,
    VideoPart,
    media_of,
    user_message,
)
from glmv_ui.prompt import build_messages

# -- parts ------------------------------------------------------------------------------------


def _photo(name: str = "red.png", size: tuple[int, int] = (3, 2)) -> MediaPart:
    from PIL import Image

    return MediaPart("image", name, image=Image.new("RGB", size, (200, 30, 30)))


def _page(number: int = 2) -> MediaPart:
    from PIL import Image

    image = Image.new("RGB", (2, 3), (250, 250, 250))
    return MediaPart("image", "doc.pdf", image=image, page=number, page_count=4)


def _clip() -> MediaPart:
    from PIL import Image

    frames = tuple(Image.new("RGB", (4, 4), (i * 80, 80, 160)) for i in range(3))
    return MediaPart(
        "video", "clip.mp4", frames=frames, timestamps=(0.0, 0.5, 1.25), fps=2.0, duration=1.5
    )


def _shape(messages: list[Message]) -> list[tuple[str, list[str]]]:
    """Each message's type and, for a user message, its parts' types in order."""
    return [
        (
            type(m).__name__,
            [type(p).__name__ for p in m.content] if isinstance(m, UserMessage) else [],
        )
        for m in messages
    ]


# -- build_messages ---------------------------------------------------------------------------


def test_a_text_question_is_one_user_message_of_one_text_part() -> None:
    messages = build_messages([Turn("hello")], "glm4v")
    assert messages == [UserMessage((TextPart("hello"),))]


def test_media_come_before_the_text_in_upload_order_pages_as_images() -> None:
    photo, page, clip = _photo(), _page(), _clip()
    messages = build_messages([Turn("Compare.", [photo, page, clip])], "glm4v_moe")
    assert _shape(messages) == [
        ("UserMessage", ["ImagePart", "ImagePart", "VideoPart", "TextPart"])
    ]
    user = messages[0]
    assert isinstance(user, UserMessage)
    assert [p.media for p in user.content if not isinstance(p, TextPart)] == [photo, page, clip]
    assert isinstance(user.content[1], ImagePart)
    assert user.content[1].media.page == 2
    assert user.text == "Compare."
    assert list(media_of(messages)) == [photo, page, clip]


def test_a_conversation_alternates_with_plain_string_system_and_answers() -> None:
    turns = [
        Turn("first", [_photo()], raw="<think>t1</think><answer>A1</answer>"),
        Turn("second", raw="<think>t2</think>A2"),
        Turn("third"),
    ]
    messages = build_messages(turns, "glm4v", system_prompt="  Be brief. ")
    assert _shape(messages) == [
        ("SystemMessage", []),
        ("UserMessage", ["ImagePart", "TextPart"]),
        ("AssistantMessage", []),
        ("UserMessage", ["TextPart"]),
        ("AssistantMessage", []),
        ("UserMessage", ["TextPart"]),
    ]
    assert messages[0] == SystemMessage("Be brief.")
    assert messages[2] == AssistantMessage("A1")
    assert messages[4] == AssistantMessage("A2")
    assert [m.role for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]


def test_media_history_last_leaves_notes_for_earlier_media() -> None:
    turns = [
        Turn("what is this", [_photo("cat.png"), _page(3)], raw="<answer>A cat.</answer>"),
        Turn("", [_clip()], raw="<answer>A clip.</answer>"),
        Turn("and this", [_photo("dog.png")]),
    ]
    messages = build_messages(turns, "glm4v", media_history="last")
    assert messages[0] == UserMessage(
        (TextPart("[image: cat.png] [image: doc.pdf p. 3]\nwhat is this"),)
    )
    assert messages[2] == UserMessage((TextPart("[video: clip.mp4]"),))
    assert _shape(messages)[4] == ("UserMessage", ["ImagePart", "TextPart"])
    assert [m.source for m in media_of(messages)] == ["dog.png"]


def test_a_failed_turn_is_merged_into_the_next_user_message() -> None:
    photo = _photo()
    turns = [Turn("first", [photo], status="error"), Turn("second")]
    messages = build_messages(turns, "glm4v_moe")
    assert messages == [UserMessage((ImagePart(photo), TextPart("first"), TextPart("second")))]


def test_user_message_leaves_out_empty_text() -> None:
    clip = _clip()
    assert user_message("", [clip]) == UserMessage((VideoPart(clip),))
    assert user_message() == UserMessage(())


# -- crossing a pickling boundary -------------------------------------------------------------


def test_a_request_with_images_and_a_video_pickles_with_its_pixels(tmp_path: Any) -> None:
    turns = [Turn("one", [_photo(), _page()], raw="<answer>A.</answer>"), Turn("two", [_clip()])]
    request = GenerationRequest(
        build_messages(turns, "glm4v", system_prompt="Sys."), Sampling(max_new_tokens=5)
    )
    back = pickle.loads(pickle.dumps(GpuJob(request, StopFlag(str(tmp_path / "stop"))))).request
    assert _shape(list(back.messages)) == _shape(list(request.messages))
    assert back.messages[0] == SystemMessage("Sys.")
    assert back.messages[2] == AssistantMessage("A.")
    assert back.sampling == request.sampling
    sent, received = list(media_of(request.messages)), list(media_of(back.messages))
    assert [m.label for m in received] == ["red.png", "doc.pdf p. 2", "clip.mp4"]
    assert received[0].image.tobytes() == sent[0].image.tobytes()
    assert [f.tobytes() for f in received[2].frames] == [f.tobytes() for f in sent[2].frames]
    assert received[2].timestamps == (0.0, 0.5, 1.25)


# -- the local engine's template input --------------------------------------------------------


def test_the_chat_template_gets_plain_strings_and_bare_placeholders() -> None:
    turns = [Turn("look", [_photo()], raw="<think>x</think>Red."), Turn("and?", [_clip()])]
    template = chat_template_messages(build_messages(turns, "glm4v", system_prompt="S."))
    assert template == [
        {"role": "system", "content": "S."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "look"}]},
        {"role": "assistant", "content": "Red."},
        {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "and?"}]},
    ]


# -- the remote engine's JSON, pinned to what it was before the records -----------------------

# Explicit settings, so the pins do not move with the defaults.
PINNED = Sampling(
    temperature=0.5, top_p=0.9, top_k=3, repetition_penalty=1.05, max_new_tokens=8, seed=1
)


def _pinned(body: dict[str, Any]) -> Any:
    """The body with each data URL's payload replaced by a digest of it (the installed Pillow's
    PNG and JPEG encoders made the payloads)."""

    def digest(m: re.Match[str]) -> str:
        return f"data:{m.group(1)};sha256,{hashlib.sha256(m.group(2).encode()).hexdigest()[:16]}"

    text = re.sub(r"data:([a-z/0-9]+);base64,([A-Za-z0-9+/=]+)", digest, json.dumps(body))
    return json.loads(text)


def _remote() -> RemoteEngine:
    return RemoteEngine("http://127.0.0.1:9/v1", model="glm-4.5v", family="glm4v_moe")


def _options() -> dict[str, Any]:
    return {
        "stream": True,
        "max_tokens": 8,
        "temperature": 0.5,
        "top_p": 0.9,
        "stream_options": {"include_usage": True},
        "seed": 1,
        "top_k": 3,
        "repetition_penalty": 1.05,
        "chat_template_kwargs": {"enable_thinking": True},
    }


def test_the_remote_json_of_a_conversation_with_images_is_unchanged() -> None:
    turns = [
        Turn("Compare these.", [_photo(), _page()], raw="<think>x</think>They differ."),
        Turn("And the page?"),
    ]
    request = GenerationRequest(
        build_messages(turns, "glm4v_moe", system_prompt="Be brief."), PINNED
    )
    assert _pinned(_remote().build_body(request)) == {
        "model": "glm-4.5v",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;sha256,070223bb587b255d"},
                    },
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;sha256,7c69158358a2d7b7"},
                    },
                    {"type": "text", "text": "Compare these."},
                ],
            },
            {"role": "assistant", "content": "They differ."},
            {"role": "user", "content": [{"type": "text", "text": "And the page?"}]},
        ],
        **_options(),
    }


def test_the_remote_json_of_a_video_is_unchanged() -> None:
    request = GenerationRequest(
        build_messages([Turn("What happens?", [_clip()])], "glm4v_moe"), PINNED
    )
    frame = "data:image/jpeg;sha256,"
    assert _pinned(_remote().build_body(request)) == {
        "model": "glm-4.5v",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "clip.mp4 at 0.0 s:"},
                    {"type": "image_url", "image_url": {"url": frame + "757ff27adc11427b"}},
                    {"type": "text", "text": "clip.mp4 at 0.5 s:"},
                    {"type": "image_url", "image_url": {"url": frame + "f4c3f313baae29b2"}},
                    {"type": "text", "text": "clip.mp4 at 1.2 s:"},
                    {"type": "image_url", "image_url": {"url": frame + "d22ecd27b7fce0b9"}},
                    {"type": "text", "text": "What happens?"},
                ],
            }
        ],
        **_options(),
    }


@pytest.mark.parametrize("history", ["all", "last"])
def test_the_local_engine_prepares_the_records_it_is_given(tiny41: Any, history: Any) -> None:
    engine = LocalEngine(tiny41)
    turns = [Turn("one", [_photo(size=(56, 56))], raw="<answer>A.</answer>"), Turn("two")]
    request = GenerationRequest(build_messages(turns, "glm4v", media_history=history))
    inputs = engine.prepare(request)
    prompt = tiny41.tokenizer.decode(inputs["input_ids"][0], skip_special_tokens=False)
    images = 1 if history == "all" else 0
    assert prompt.count("<|begin_of_image|>") == images
    assert ("[image: red.png]" in prompt) is (history == "last")
    assert "A." in prompt
