"""The options table: each option once, reachable by flag and by variable, one default; the web
app and the terminal chat parse the same options to the same config."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from glmv_ui.cli import build_parser as cli_parser
from glmv_ui.config import (
    OPTIONS,
    AppConfig,
    Option,
    add_arguments,
    default_of,
    env_values,
    quantization_of,
)
from glmv_ui.errors import ConfigError

ENV_ONLY = {"auth"}  # a password on the command line would show in process lists


def _field_value(config: AppConfig, opt: Option) -> object:
    if opt.field == "quantization":
        return config.load.quantization
    return getattr(config, opt.field)


def _sample(opt: Option) -> tuple[str, object]:
    """A text for ``opt`` other than its default, and the value it stands for."""
    if opt.choices is not None:
        word = next(w for w, v in opt.choices.items() if v != default_of(opt))
        return word, opt.choices[word]
    if opt.kind is bool:
        return ("0", False) if default_of(opt) else ("1", True)
    if opt.kind is int:
        return "7", 7
    if opt.kind is float:
        return "2.5", 2.5
    return f"value-of-{opt.field}", f"value-of-{opt.field}"


def _parse(argv: list[str], environ: dict[str, str]) -> AppConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return AppConfig.from_args(parser.parse_args(argv), environ)


def test_each_option_is_declared_once_and_names_a_real_field() -> None:
    names = {f.name for f in dataclasses.fields(AppConfig)} | {"quantization"}
    assert {o.field for o in OPTIONS} <= names
    assert len({o.field for o in OPTIONS}) == len(OPTIONS)
    assert len({o.env for o in OPTIONS}) == len(OPTIONS)
    flags = [o.flag for o in OPTIONS if o.flag is not None]
    assert len(set(flags)) == len(flags)
    assert all(o.env.startswith("GLMV_") for o in OPTIONS)
    assert {o.field for o in OPTIONS if o.flag is None} == ENV_ONLY


@pytest.mark.parametrize("opt", OPTIONS, ids=lambda o: o.field)
def test_flag_beats_variable_beats_default(opt: Option) -> None:
    text, value = _sample(opt)
    assert _field_value(_parse([], {}), opt) == default_of(opt) == _field_value(AppConfig(), opt)
    assert _field_value(_parse([], {opt.env: text}), opt) == value
    assert _field_value(_parse([], {opt.env: "  "}), opt) == default_of(opt)  # empty: unset
    if opt.flag is None:
        return
    flag_args = (
        [opt.flag if value else "--no-" + opt.flag[2:]] if opt.kind is bool else [opt.flag, text]
    )
    assert _field_value(_parse(flag_args, {}), opt) == value
    # The flag given wins over a variable set to something else.
    assert _field_value(_parse(flag_args, {opt.env: _other(opt, text)}), opt) == value


def _other(opt: Option, text: str) -> str:
    """Another valid text for ``opt`` than ``text``."""
    if opt.choices is not None:
        return next(w for w in opt.choices if w != text)
    if opt.kind is bool:
        return "0" if text == "1" else "1"
    return {int: "9", float: "9.5"}.get(opt.kind, "other-text")


def test_none_means_no_quantization_by_flag_and_by_variable() -> None:
    assert _parse(["--quant", "none"], {"GLMV_QUANT": "4bit"}).load.quantization is None
    assert _parse([], {"GLMV_QUANT": "none"}).load.quantization is None
    assert _parse([], {"GLMV_QUANT": "8BIT"}).load.quantization == "8bit"
    # The model panel's choice is read by the same option (its bf16 choice sends "none").
    assert [quantization_of(w) for w in ("none", "4bit", "8bit", "")] == [
        None,
        "4bit",
        "8bit",
        None,
    ]
    # The upload limit reaches the media limits too.
    assert _parse(["--max-file-size", "5"], {}).media.max_upload_mb == 5


def test_a_bad_value_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"GLMV_PORT='eighty': expected a whole number"):
        env_values({"GLMV_PORT": "eighty"})
    with pytest.raises(ConfigError, match="GLMV_ENGINE='gpu': expected local, remote or scripted"):
        env_values({"GLMV_ENGINE": "gpu"})
    with pytest.raises(ConfigError, match="GLMV_SHARE='maybe'"):
        env_values({"GLMV_SHARE": "maybe"})
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_arguments(parser)
    with pytest.raises(argparse.ArgumentError, match="'4-bit': expected none, 4bit or 8bit"):
        parser.parse_args(["--quant", "4-bit"])


def test_help_names_each_variable_and_default() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    text = parser.format_help().replace("\n", " ")
    text = " ".join(text.split())
    for opt in OPTIONS:
        if opt.flag is not None:
            assert f"env {opt.env}; default {opt.word(default_of(opt))}" in text, opt.field


def test_app_and_terminal_chat_parse_the_same_options_to_the_same_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app import parse_args

    for opt in OPTIONS:
        monkeypatch.delenv(opt.env, raising=False)
    # GLMV_QUANT and GLMV_ENGINE reach both (the terminal chat once ignored them).
    monkeypatch.setenv("GLMV_QUANT", "8bit")
    monkeypatch.setenv("GLMV_ENGINE", "remote")
    monkeypatch.setenv("GLMV_REMOTE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("GLMV_MAX_FILE_MB", "12")
    shared = ["--remote-model", "glm-4.5v", "--thinking-style", "vendor", "--api-key-env", "K"]
    from_app = parse_args(shared)
    from_cli = AppConfig.from_args(cli_parser().parse_args(["chat", *shared, "--prompt", "hi"]))
    assert from_app == from_cli
    assert from_cli.load.quantization == "8bit"
    assert from_cli.engine == "remote"
    assert from_cli.media.max_upload_mb == 12
    assert (from_cli.remote_model, from_cli.remote_thinking_style) == ("glm-4.5v", "vendor")
    # Every engine and media option of the app is a terminal flag too, read the same way.
    for opt in OPTIONS:
        if opt.group == "serve" or opt.flag is None:
            continue
        text, value = _sample(opt)
        ns = cli_parser().parse_args(["chat", opt.flag, text])
        assert AppConfig.from_args(ns, {}) == _parse([opt.flag, text], {}), opt.field
        assert _field_value(AppConfig.from_args(ns, {}), opt) == value
