"""The same inputs under several settings or models, answers and costs side by side.

:func:`compare` runs one :func:`~glmv_ui.nb.batch.run_batch` per setting (each a dict of
sampling and media options, optionally with ``"model"``: another model id, loaded model or
engine) and joins them by input: :class:`Comparison` rows hold each setting's answer, generated
tokens, time to first token and tokens/s, and an agreement column (how many settings gave the
most common answer, compared after trimming and folding case and spaces).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .batch import BatchResult, BatchRun, collect_inputs, run_batch

__all__ = ["Comparison", "ComparisonRow", "compare"]


def _norm(answer: str) -> str:
    return " ".join(answer.split()).casefold()


@dataclass(frozen=True)
class ComparisonRow:
    """One input under every setting; ``results`` in the order of the settings."""

    source: str
    prompt: str
    results: tuple[BatchResult, ...]

    @property
    def agreement(self) -> float:
        """The share of settings that gave the most common answer (errors never agree)."""
        answers = [_norm(r.answer) for r in self.results if r.ok]
        if not answers:
            return 0.0
        return Counter(answers).most_common(1)[0][1] / len(self.results)

    @property
    def all_agree(self) -> bool:
        return self.agreement == 1.0


@dataclass
class Comparison:
    """The runs by setting label, and the inputs joined across them."""

    labels: list[str]
    runs: dict[str, BatchRun]
    rows: list[ComparisonRow]

    def records(self) -> list[dict[str, Any]]:
        out = []
        for row in self.rows:
            rec: dict[str, Any] = {"source": os.path.basename(row.source), "prompt": row.prompt}
            for label, r in zip(self.labels, row.results, strict=True):
                rec[f"answer[{label}]"] = r.answer if r.ok else f"({r.status}: {r.error})"
                rec[f"generated[{label}]"] = r.generated_tokens
                rec[f"thinking_chars[{label}]"] = r.thinking_chars
                rec[f"first_token_s[{label}]"] = r.time_to_first_token_s
                rec[f"tokens_per_s[{label}]"] = r.tokens_per_s
            rec["agreement"] = round(row.agreement, 3)
            out.append(rec)
        return out

    def table(self) -> Any:
        """A pandas DataFrame when pandas is installed, else the list of records."""
        try:
            import pandas as pd
        except ImportError:
            return self.records()
        return pd.DataFrame(self.records())

    @property
    def agreement(self) -> float:
        """Mean agreement over the inputs."""
        return sum(r.agreement for r in self.rows) / len(self.rows) if self.rows else 0.0

    def totals(self) -> dict[str, dict[str, float]]:
        """Per setting: answered inputs, generated tokens, mean first token and tokens/s."""
        out: dict[str, dict[str, float]] = {}
        for label, run in self.runs.items():
            done = [r for r in run.results if r.ok]
            ttft = [r.time_to_first_token_s for r in done if r.time_to_first_token_s is not None]
            tps = [r.tokens_per_s for r in done if r.tokens_per_s is not None]
            out[label] = {
                "answered": len(done),
                "generated_tokens": sum(r.generated_tokens for r in done),
                "thinking_chars": sum(r.thinking_chars for r in done),
                "mean_first_token_s": sum(ttft) / len(ttft) if ttft else float("nan"),
                "mean_tokens_per_s": sum(tps) / len(tps) if tps else float("nan"),
            }
        return out

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(label)}</th>" for label in self.labels)
        rows = []
        for row in self.rows:
            cells = []
            for r in row.results:
                text = r.answer if r.ok else f"{r.status}: {r.error}"
                if len(text) > 60:
                    text = text[:59] + "…"
                cost = f"{r.generated_tokens} tok"
                if r.time_to_first_token_s is not None:
                    cost += f", {r.time_to_first_token_s:.2f} s to first"
                cells.append(
                    f"<td style='text-align:left'>{escape(text)}<br>"
                    f"<small>{escape(cost)}</small></td>"
                )
            rows.append(
                f"<tr><td>{escape(os.path.basename(row.source))}</td>{''.join(cells)}"
                f"<td>{row.agreement:.0%}</td></tr>"
            )
        return (
            f"<table class='glmv-compare'><tr><th>input</th>{head}<th>agreement</th></tr>"
            f"{''.join(rows)}</table><p>mean agreement {self.agreement:.0%}</p>"
        )


def compare(
    target: Any,
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    prompt: str | Sequence[str] | Mapping[str, str],
    settings: Mapping[str, Mapping[str, Any]],
    *,
    progress: bool = True,
    results_file: str | os.PathLike[str] | None = None,
    **common: Any,
) -> Comparison:
    """Run ``inputs`` once per entry of ``settings`` (label -> options) and join the answers.

    ``common`` options apply to every setting (a setting's own value wins). A setting may name
    ``"model"`` to run on another model than ``target``. With ``results_file`` all settings
    share one resumable results file (each result carries its setting's label).
    """
    if len(settings) < 2:
        raise ConfigError("compare needs at least two settings")
    sources = collect_inputs(inputs)
    runs: dict[str, BatchRun] = {}
    for label, options in settings.items():
        chosen = {**common, **options}
        model = chosen.pop("model", target)
        runs[label] = run_batch(
            model,
            sources,
            prompt,
            results_file=results_file,
            progress=progress,
            setting=label,
            **chosen,
        )
    labels = list(settings)
    first = runs[labels[0]].results
    rows = [
        ComparisonRow(
            source=r.source,
            prompt=r.prompt,
            results=tuple(runs[label].results[i] for label in labels),
        )
        for i, r in enumerate(first)
    ]
    return Comparison(labels=labels, runs=runs, rows=rows)
