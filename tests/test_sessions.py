"""Server-side session state stays bounded: idle sessions are dropped with their files, each app
instance has a folder of its own, and it is removed at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from glmv_ui.ui.state import SessionRegistry, media_root
from tests.helpers import red_image


class _Request:
    def __init__(self, session_hash: str) -> None:
        self.session_hash = session_hash


def test_idle_sessions_are_dropped_with_their_files(tmp_path: Path) -> None:
    now = [0.0]
    registry = SessionRegistry(root=tmp_path / "app", idle_s=60, clock=lambda: now[0])
    quiet, busy = registry.get(_Request("quiet")), registry.get(_Request("busy"))
    drawn = Path(quiet.save_image(red_image(), "upload"))
    now[0] = 50
    registry.get(_Request("busy"))
    now[0] = 70
    assert registry.reap() == 1
    assert len(registry) == 1
    assert not drawn.exists()
    assert not quiet.dir.exists()
    assert registry.get(_Request("busy")) is busy
    registry.close_all()
    assert not (tmp_path / "app").exists()
    assert len(registry) == 0


def test_each_app_instance_has_a_folder_of_its_own() -> None:
    first, second = SessionRegistry(), SessionRegistry()
    try:
        assert first.root != second.root
        assert first.root.parent == second.root.parent == media_root()
    finally:
        first.close_all()
        second.close_all()


@pytest.mark.slow  # imports Gradio (launch_options)
def test_logins_come_from_the_environment_and_never_show() -> None:
    from glmv_ui.config import AppConfig
    from glmv_ui.errors import ConfigError
    from glmv_ui.ui import launch_options

    config = AppConfig.from_env({"GLMV_AUTH": "ada:s3cret, bob:hunter2"})
    assert launch_options(config)["auth"] == [("ada", "s3cret"), ("bob", "hunter2")]
    assert "s3cret" not in repr(config)
    with pytest.raises(ConfigError) as refused:
        AppConfig(auth="ada-without-password").auth_pairs()
    assert "ada" not in str(refused.value)
    assert "auth" not in launch_options(AppConfig())


def test_a_refused_upload_is_one_info_line_without_a_traceback(tmp_path: Path, caplog) -> None:
    import logging

    from glmv_ui.config import MediaLimits
    from glmv_ui.ui.attach import read_attachments
    from glmv_ui.ui.settings import MediaChoice

    bad = tmp_path / "broken-scan.pdf"
    bad.write_bytes(b"%PDF-1.4\nnot really")
    with caplog.at_level(logging.INFO, logger="glmv_ui"):
        outcome = read_attachments([str(bad)], [], MediaChoice(MediaLimits()))
    assert outcome.refused
    assert outcome.refused[0].name == "broken-scan.pdf"
    records = [r for r in caplog.records if r.name == "glmv_ui"]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert "broken-scan.pdf" in records[0].getMessage()
    assert records[0].exc_info is None
