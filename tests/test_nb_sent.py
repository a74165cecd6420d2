"""What was sent, checked against what the engine reports for a real request; grounding IoU."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.engines.local import LocalEngine
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.nb.batch import run_batch
from glmv_ui.nb.metrics import iou, score_boxes
from glmv_ui.nb.samples import PHOTO_OBJECTS
from glmv_ui.nb.sent import fold_placeholders, what_was_sent
from glmv_ui.session import Session


@pytest.fixture(scope="module")
def engine(tiny41) -> LocalEngine:
    return LocalEngine(tiny41)


def test_an_image_as_sent_matches_the_request(engine: LocalEngine, corpus: Path) -> None:
    path = str(corpus / "images" / "chelsea-rgb.png")
    view = what_was_sent(engine, "What is it?", [path])
    assert view.exact
    assert len(view.images) == 1
    assert not view.videos
    image = view.images[0]
    assert image.original == (451, 300)
    assert image.sent[0] % 28 == 0
    assert image.sent[1] % 28 == 0
    assert image.tokens == image.sent[0] * image.sent[1] // 784
    assert (
        "<|begin_of_image|><|image|>×" + str(image.tokens) + "<|end_of_image|>" in view.prompt_text
    )
    assert view.prompt_text.rstrip().endswith("<|assistant|>")
    assert "What is it?" in view.prompt_text
    # The same figures a real request reports.
    stats = run_batch(engine, [path], "What is it?", max_new_tokens=1, progress=False).results[0]
    assert (view.prompt_tokens, view.visual_tokens) == (stats.prompt_tokens, stats.visual_tokens)
    assert "451x300 -> " in view.summary()


@pytest.mark.slow  # decodes a video and generates
def test_a_video_as_sent_shows_its_frames_and_times(engine: LocalEngine, corpus: Path) -> None:
    path = str(corpus / "video" / "h264-aac-6s-640x360.mp4")
    view = what_was_sent(engine, "When?", [path], video_fps=1.0)
    (video,) = view.videos
    assert video.frames == len(video.timestamps)
    assert video.frames_sent % 2 == 0
    assert video.prompt_times == tuple(str(int(t)) for t in video.timestamps[::2])
    assert video.tokens == view.visual_tokens < video.estimate  # the estimate counts markers
    assert "times in the prompt: " + ", ".join(video.prompt_times) in view.summary()


def test_earlier_turns_are_in_the_prompt(engine: LocalEngine) -> None:
    session = Session(engine)
    for _ in session.submit("first question", sampling=session.sampling.replace(max_new_tokens=2)):
        pass
    view = what_was_sent(session, "second question")
    assert view.prompt_text.index("first question") < view.prompt_text.index("second question")
    assert len(session.turns) == 1  # nothing was added or generated


def test_an_engine_without_local_inputs_gets_the_estimate(corpus: Path) -> None:
    engine = ScriptedEngine(replies=["ok"])
    view = what_was_sent(engine, "x", [str(corpus / "images" / "coffee.webp")])
    assert not view.exact
    assert view.images[0].tokens == view.visual_tokens > 0
    assert "(estimated)" in view.summary()


def test_fold_placeholders() -> None:
    assert fold_placeholders("a<|image|><|image|><|image|>b<|video|>") == "a<|image|>×3b<|video|>"


def test_iou_and_matching() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    ball = PHOTO_OBJECTS["red ball"]
    box = PHOTO_OBJECTS["blue box"]
    shifted = (box[0] + 40, box[1], box[2] + 40, box[3])
    score = score_boxes([shifted, ball, (0, 0, 5, 5)], PHOTO_OBJECTS)
    by_label = {m.label: m for m in score.matches}
    assert by_label["red ball"].iou == 1.0
    assert by_label["red ball"].predicted_index == 1
    assert 0 < by_label["blue box"].iou < 1
    assert by_label["blue box"].hit
    assert by_label["sun"].predicted is None
    assert score.missed == ["sun"]
    assert score.extra == (2,)
    assert "2 of 3 objects found" in score.summary()
    strict = score_boxes([shifted], PHOTO_OBJECTS, threshold=0.9)
    assert strict.found == []
    assert strict.missed == ["red ball", "blue box", "sun"]
