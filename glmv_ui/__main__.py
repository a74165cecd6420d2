"""``python -m glmv_ui chat ...``: see :mod:`glmv_ui.cli`."""

from .cli import main

raise SystemExit(main())
