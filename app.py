"""Launch the GLM-V Workbench web demo: ``python app.py [--model ...] [--engine ...]``.

The options are declared once, in :data:`glmv_ui.config.OPTIONS` (``python app.py --help`` lists
them with their variables): a flag given wins over its ``GLMV_*`` variable, which wins over the
default. Nothing else happens here: everything is built by :func:`glmv_ui.ui.create_app`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from glmv_ui.config import AppConfig, add_arguments


def build_parser() -> argparse.ArgumentParser:
    """Every option of :data:`glmv_ui.config.OPTIONS` that has a flag."""
    parser = argparse.ArgumentParser(
        description="GLM-V Workbench: a Gradio demo for GLM-4.1V and GLM-4.5V"
    )
    add_arguments(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> AppConfig:
    """The config from ``argv``: a flag given wins over its ``GLMV_*`` variable, a set variable
    wins over the default."""
    return AppConfig.from_args(build_parser().parse_args(argv))


def main(argv: Sequence[str] | None = None) -> None:
    from glmv_ui.errors import ConfigError
    from glmv_ui.ui import create_app, launch_options

    try:
        config = parse_args(argv)  # a malformed GLMV_* variable is named, not a traceback
        options = launch_options(config)  # refuses unsafe settings before anything starts
    except ConfigError as exc:
        raise SystemExit(f"app.py: {exc}") from None
    create_app(config).launch(**options)


if __name__ == "__main__":
    main()
