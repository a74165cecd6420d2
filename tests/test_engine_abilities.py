"""Optional engine abilities are declared Protocols: an engine meets the ones it has, a wrapper
only the one it really provides, and the callers that used to probe with getattr ask with
isinstance."""

from __future__ import annotations

from typing import Any

import pytest

from glmv_ui.config import AppConfig
from glmv_ui.engines.base import CachingEngine, Engine, HoldsModel, Wrapping, unwrapped
from glmv_ui.engines.local import LocalEngine
from glmv_ui.engines.remote import RemoteEngine
from glmv_ui.engines.scripted import ScriptedEngine
from glmv_ui.engines.zerogpu import ZeroGpuEngine
from glmv_ui.models import default_cache, load_model
from glmv_ui.ui.i18n import t
from glmv_ui.ui.model import ModelManager, release_engine


def _abilities(engine: Engine) -> set[str]:
    kinds: dict[str, type] = {
        "caching": CachingEngine,
        "holds model": HoldsModel,
        "wrapping": Wrapping,
    }
    return {name for name, kind in kinds.items() if isinstance(engine, kind)}


def _on_zerogpu(engine: Engine) -> ZeroGpuEngine:
    import spaces  # off a ZeroGPU Space its decorator leaves the function as it is

    return ZeroGpuEngine(engine, spaces)


def test_engines_declare_the_abilities_they_have_and_no_others(tiny41: Any) -> None:
    local = LocalEngine(tiny41)
    wrapper = _on_zerogpu(local)
    assert _abilities(local) == {"caching", "holds model"}
    # The wrapped engine's caches live in the GPU worker's copy of it: the wrapper offers none,
    # and forwards nothing it does not declare.
    assert _abilities(wrapper) == {"wrapping"}
    assert not hasattr(wrapper, "loaded")
    assert not hasattr(wrapper, "cache_stats")
    assert unwrapped(wrapper) is local
    assert unwrapped(local) is local
    remote = RemoteEngine("http://127.0.0.1:9/v1", model="m", family="glm4v")
    assert _abilities(remote) == set()
    assert _abilities(ScriptedEngine()) == set()


def test_the_model_panel_shows_prompt_caches_only_for_an_engine_that_keeps_them(
    tiny41: Any,
) -> None:
    shown = t("en", "prompt_cache")
    local = ModelManager(AppConfig(model="tiny-glm41v"), LocalEngine(tiny41))
    assert f"**{shown}**: 0 conversations cached" in local.details("en")
    scripted = ModelManager(AppConfig(model="tiny-glm41v"), ScriptedEngine())
    assert shown not in scripted.details("en")


@pytest.mark.slow  # needs torch or transformers
def test_releasing_a_wrapped_engine_gives_its_model_back() -> None:
    # A load of its own (another cache key), so the shared tiny model stays cached for others.
    loaded = load_model("tiny-glm41v", attn_implementation="eager")
    assert any(m is loaded for m in default_cache().loaded())
    release_engine(_on_zerogpu(LocalEngine(loaded)))
    assert not any(m is loaded for m in default_cache().loaded())
    release_engine(ScriptedEngine())  # holds no model: nothing to give back, no error
