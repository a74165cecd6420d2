"""Launch the GLM-V Workbench web demo: ``python app.py [--model ...] [--engine ...]``.

Flags override ``GLMV_*`` environment variables (read by ``AppConfig.from_env``), which override
the defaults. Nothing else happens here: everything is built by :func:`glmv_ui.ui.create_app`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace

from glmv_ui.config import AppConfig, LoadOptions, MediaLimits


def parse_args(argv: Sequence[str] | None = None) -> AppConfig:
    env = AppConfig.from_env()
    p = argparse.ArgumentParser(
        description="GLM-V Workbench: a Gradio demo for GLM-4.1V and GLM-4.5V"
    )
    p.add_argument(
        "--model",
        default=env.model,
        help="model id, local folder, or tiny-glm41v / tiny-glm45v (env GLMV_MODEL)",
    )
    p.add_argument(
        "--quant",
        choices=("none", "4bit", "8bit"),
        default=env.load.quantization or "none",
        help="weight quantization (env GLMV_QUANT)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "remote", "scripted"),
        default=env.engine,
        help="where replies come from (env GLMV_ENGINE)",
    )
    p.add_argument(
        "--url",
        default=env.remote_url,
        help="OpenAI-compatible server URL for --engine remote (env GLMV_REMOTE_URL)",
    )
    p.add_argument(
        "--remote-model",
        default=env.remote_model,
        help="served model name (env GLMV_REMOTE_MODEL; default: the server's first)",
    )
    p.add_argument(
        "--thinking-style",
        choices=("chat_template_kwargs", "vendor", "none"),
        default=env.remote_thinking_style,
        help="how the remote engine sends the thinking switch: vLLM/SGLang "
        "chat_template_kwargs or the vendor API's parameter "
        "(env GLMV_REMOTE_THINKING)",
    )
    p.add_argument(
        "--api-key-env",
        default=env.remote_api_key_env,
        help="variable holding the remote server's API key (env GLMV_API_KEY_ENV)",
    )
    p.add_argument(
        "--host",
        default=env.host,
        help="address to serve on (env GLMV_HOST, else Gradio's GRADIO_SERVER_NAME, "
        "else 127.0.0.1)",
    )
    p.add_argument(
        "--port",
        type=int,
        default=env.port,
        help="port (env GLMV_PORT, else Gradio's GRADIO_SERVER_PORT, else the first "
        "free one from 7860)",
    )
    p.add_argument(
        "--share",
        action="store_true",
        default=env.share,
        help="create a public share link (env GLMV_SHARE=1)",
    )
    p.add_argument(
        "--mcp",
        action="store_true",
        default=env.mcp_server,
        help="also serve the app as an MCP server (env GLMV_MCP=1)",
    )
    p.add_argument(
        "--max-file-size",
        type=int,
        default=env.max_file_size_mb,
        help="upload size limit in MB (env GLMV_MAX_FILE_MB)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=env.concurrency,
        help="replies generated at once (env GLMV_CONCURRENCY)",
    )
    p.add_argument(
        "--language",
        choices=("en", "zh"),
        default=env.language,
        help="interface language at start (env GLMV_LANGUAGE)",
    )
    p.add_argument(
        "--model-switch",
        action=argparse.BooleanOptionalAction,
        default=env.model_switch,
        help="let operators load another model for everyone (env GLMV_MODEL_SWITCH; "
        "default off; needs GLMV_AUTH logins and GLMV_OPERATORS)",
    )
    a = p.parse_args(argv)
    return replace(
        env,
        model=a.model,
        load=LoadOptions(quantization=None if a.quant == "none" else a.quant),
        engine=a.engine,
        remote_url=a.url,
        remote_model=a.remote_model,
        remote_thinking_style=a.thinking_style,
        remote_api_key_env=a.api_key_env,
        host=a.host,
        port=a.port,
        share=a.share,
        mcp_server=a.mcp,
        concurrency=a.concurrency,
        max_file_size_mb=a.max_file_size,
        language=a.language,
        model_switch=a.model_switch,
        media=MediaLimits(max_upload_mb=a.max_file_size),
    )


def main(argv: Sequence[str] | None = None) -> None:
    from glmv_ui.errors import ConfigError
    from glmv_ui.ui import create_app, launch_options

    config = parse_args(argv)
    try:
        options = launch_options(config)  # refuses unsafe settings before anything starts
    except ConfigError as exc:
        raise SystemExit(f"app.py: {exc}") from None
    create_app(config).launch(**options)


if __name__ == "__main__":
    main()
