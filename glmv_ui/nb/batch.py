"""Batch runs for the notebook: one prompt (or one per input) over many files, as a table.

:func:`run_batch` asks each input in a fresh :class:`~glmv_ui.session.Session` on the engine the
notebook already holds, with one progress bar for the loop. Each finished input becomes a
:class:`BatchResult`; a file that cannot be read or a request that fails is recorded with its
error and the loop goes on. With ``results_file`` every result is appended (one JSON line) as
soon as it exists, and a later call with the same file skips the inputs already there, so an
interrupted run resumes where it stopped. :class:`BatchRun` holds the results and the
:class:`RunRecord` (model, revision, options, seed, package versions); ``table()`` is a pandas
DataFrame when pandas is installed, else a list of records; ``export()`` writes JSON Lines, CSV
and the run record.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ..engines.base import Engine
from ..errors import ConfigError, GlmvError
from ..media.options import MediaOptions
from ..session import Session
from .helpers import engine_of, split_options

__all__ = ["BatchResult", "BatchRun", "RunRecord", "collect_inputs", "read_results", "run_batch"]

PACKAGES = ("glmv-workbench", "torch", "transformers", "pillow", "accelerate", "bitsandbytes")
CSV_FIELDS = (
    "key",
    "source",
    "prompt",
    "setting",
    "status",
    "answer",
    "thinking_chars",
    "boxes",
    "prompt_tokens",
    "visual_tokens",
    "generated_tokens",
    "time_to_first_token_s",
    "tokens_per_s",
    "elapsed_s",
    "finish_reason",
    "seed",
    "error",
)


@dataclass(frozen=True)
class BatchResult:
    """One input's outcome: the answer and its cost, or the error that stopped it."""

    key: str  # names the (input, prompt, setting): what a resumed run skips
    source: str  # the file as given (a path)
    prompt: str
    setting: str = ""  # the comparison's label for the settings used ("" in a plain batch)
    status: str = "done"  # "done", "cancelled", "error"
    answer: str = ""
    thinking_chars: int = 0
    boxes: tuple[tuple[float, float, float, float], ...] = ()  # 0-1000 grid
    prompt_tokens: int = 0
    visual_tokens: int = 0
    generated_tokens: int = 0
    time_to_first_token_s: float | None = None
    tokens_per_s: float | None = None
    elapsed_s: float = 0.0
    finish_reason: str | None = None
    seed: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def name(self) -> str:
        return os.path.basename(self.source)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> BatchResult:
        data = json.loads(line)
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["boxes"] = tuple(tuple(float(v) for v in b) for b in values.get("boxes", ()))
        return cls(**values)

    def csv_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["boxes"] = json.dumps([list(b) for b in self.boxes])
        return {k: ("" if row[k] is None else row[k]) for k in CSV_FIELDS}


@dataclass(frozen=True)
class RunRecord:
    """What produced a run, so that it can be told apart from others and repeated."""

    model: str
    revision: str  # the checkpoint folder's commit hash, or its path for a local folder
    family: str
    engine: str
    load_options: dict[str, Any]
    sampling: dict[str, Any]
    media_options: dict[str, Any]
    seed: int | None
    prompts: list[str]
    inputs: int
    started: str
    finished: str = ""
    python: str = field(default_factory=lambda: sys.version.split()[0])
    platform: str = field(default_factory=platform.platform)
    packages: dict[str, str] = field(default_factory=lambda: package_versions())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, default=str)


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _revision(path: str) -> str:
    """A Hugging Face snapshot folder is named by its commit; any other path is itself."""
    parts = Path(path).parts
    if len(parts) >= 2 and parts[-2] == "snapshots":
        return parts[-1]
    return path


def run_record(
    engine: Engine, sampling: Any, media: MediaOptions, prompts: Sequence[str], inputs: int
) -> RunRecord:
    loaded = getattr(engine, "loaded", None)
    path = str(getattr(loaded, "path", "") or "")
    options = getattr(loaded, "options", None)
    return RunRecord(
        model=engine.name,
        revision=_revision(path) if path else "",
        family=engine.family,
        engine=type(engine).__name__,
        load_options=asdict(options)
        if dataclasses.is_dataclass(options) and not isinstance(options, type)
        else {},
        sampling=asdict(sampling),
        media_options=media.chosen(),
        seed=sampling.seed,
        prompts=list(dict.fromkeys(prompts)),
        inputs=inputs,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )


@dataclass
class BatchRun:
    """The results of a batch (in input order) and the record of how they were made."""

    results: list[BatchResult]
    record: RunRecord
    skipped: int = 0  # inputs a resumed run found already done in the results file

    @property
    def failures(self) -> list[BatchResult]:
        return [r for r in self.results if not r.ok]

    def records(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.results]

    def table(self) -> Any:
        """A pandas DataFrame when pandas is installed, else the list of records."""
        try:
            import pandas as pd
        except ImportError:
            return self.records()
        return pd.DataFrame(self.records())

    def export(self, folder: str | os.PathLike[str], name: str = "run") -> dict[str, Path]:
        """``name``.jsonl, ``name``.csv and ``name``.run.json in ``folder``; returns the paths."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "jsonl": out / f"{name}.jsonl",
            "csv": out / f"{name}.csv",
            "record": out / f"{name}.run.json",
        }
        paths["jsonl"].write_text(
            "".join(r.to_json() + "\n" for r in self.results), encoding="utf-8"
        )
        with paths["csv"].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(r.csv_row() for r in self.results)
        paths["record"].write_text(self.record.to_json() + "\n", encoding="utf-8")
        return paths

    def summary(self) -> str:
        done = [r for r in self.results if r.ok]
        gen = sum(r.generated_tokens for r in done)
        return (
            f"{len(self.results)} inputs: {len(done)} answered, "
            f"{len(self.results) - len(done)} failed, {self.skipped} taken from the "
            f"results file; {gen} tokens generated"
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = (
            "<tr><th>file</th><th>status</th><th>answer</th><th>visual</th>"
            "<th>generated</th><th>first token</th><th>tok/s</th></tr>"
        )
        rows = []
        for r in self.results:
            answer = r.answer if r.ok else r.error
            if len(answer) > 80:
                answer = answer[:79] + "…"
            rows.append(
                f"<tr><td>{escape(r.name)}</td><td>{escape(r.status)}</td>"
                f"<td style='text-align:left'>{escape(answer)}</td><td>{r.visual_tokens}</td>"
                f"<td>{r.generated_tokens}</td><td>{_num(r.time_to_first_token_s, 's')}</td>"
                f"<td>{_num(r.tokens_per_s)}</td></tr>"
            )
        return (
            f"<p>{escape(self.summary())}</p><table class='glmv-batch'>{head}"
            f"{''.join(rows)}</table>"
        )


def _num(value: float | None, unit: str = "") -> str:
    return "" if value is None else f"{value:.2f}{' ' + unit if unit else ''}"


def collect_inputs(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], pattern: str = "*"
) -> list[str]:
    """A folder (its files matching ``pattern``, sorted, hidden ones left out) or a list of
    paths, as a list of path strings."""
    if isinstance(inputs, (str, os.PathLike)):
        path = Path(inputs)
        if path.is_dir():
            return [
                str(p)
                for p in sorted(path.glob(pattern))
                if p.is_file() and not p.name.startswith(".")
            ]
        return [str(path)]
    return [os.fspath(p) for p in inputs]


def _prompts(prompt: str | Sequence[str] | Mapping[str, str], sources: Sequence[str]) -> list[str]:
    if isinstance(prompt, str):
        return [prompt] * len(sources)
    if isinstance(prompt, Mapping):
        missing = [s for s in sources if s not in prompt and os.path.basename(s) not in prompt]
        if missing:
            raise ConfigError(f"no prompt for {', '.join(missing[:3])}")
        return [prompt.get(s, prompt.get(os.path.basename(s), "")) for s in sources]
    prompts = list(prompt)
    if len(prompts) != len(sources):
        raise ConfigError(
            f"{len(prompts)} prompts for {len(sources)} inputs; give one prompt, "
            f"one per input, or a mapping from file to prompt"
        )
    return prompts


def result_key(source: str, prompt: str, setting: str = "") -> str:
    digest = hashlib.sha1(f"{source}\0{prompt}\0{setting}".encode()).hexdigest()[:10]
    return f"{os.path.basename(source)}#{digest}"


def read_results(path: str | os.PathLike[str]) -> dict[str, BatchResult]:
    """The results already in a JSON Lines results file, by key (a missing file: none). A
    last line cut short by an interrupted write is ignored."""
    found: dict[str, BatchResult] = {}
    file = Path(path)
    if not file.exists():
        return found
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            result = BatchResult.from_json(line)
        except (ValueError, TypeError):
            continue
        found[result.key] = result
    return found


def _end_line(file: Path) -> None:
    """Close a last line cut short by an interrupted write, so new results start a line."""
    if not file.exists() or file.stat().st_size == 0:
        return
    with file.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b"\n":
            fh.write(b"\n")


class _Bar:
    """One progress bar for the loop: tqdm (its notebook form in a kernel), or nothing."""

    def __init__(self, total: int, title: str, show: bool) -> None:
        self._bar: Any = None
        if show and total:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=title, unit="input")

    def step(self, note: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def ask_one(
    engine: Engine,
    source: str,
    prompt: str,
    sampling: Any,
    media: MediaOptions,
    setting: str = "",
) -> BatchResult:
    """One input in a fresh session; a refusal or failure is returned as an error result."""
    key = result_key(source, prompt, setting)
    start = time.perf_counter()
    session = Session(engine, sampling=sampling)
    try:
        parts = session.attach([source], media)
        updates = session.submit(prompt, parts)
        try:
            for _ in updates:
                pass
        finally:
            close = getattr(updates, "close", None)
            if close is not None:
                close()  # a KeyboardInterrupt ends generation, not just the loop
        reply = session.reply()
    except GlmvError as exc:
        return BatchResult(
            key=key,
            source=source,
            prompt=prompt,
            setting=setting,
            status="error",
            error=str(exc),
            seed=sampling.seed,
            elapsed_s=time.perf_counter() - start,
        )
    finally:
        session.close()
    stats = reply.stats
    return BatchResult(
        key=key,
        source=source,
        prompt=prompt,
        setting=setting,
        status="done" if reply.status == "done" else reply.status,
        answer=reply.answer.strip(),
        thinking_chars=len(reply.thinking),
        boxes=tuple((b.x1, b.y1, b.x2, b.y2) for b in reply.boxes),
        prompt_tokens=stats.prompt_tokens if stats else 0,
        visual_tokens=stats.visual_tokens if stats else 0,
        generated_tokens=stats.generated_tokens if stats else 0,
        time_to_first_token_s=stats.time_to_first_token_s if stats else None,
        tokens_per_s=stats.tokens_per_s if stats else None,
        elapsed_s=stats.elapsed_s if stats else time.perf_counter() - start,
        finish_reason=stats.finish_reason if stats else None,
        seed=sampling.seed,
        error=reply.error,
    )


def iter_batch(
    engine: Engine,
    sources: Sequence[str],
    prompts: Sequence[str],
    sampling: Any,
    media: MediaOptions,
    *,
    setting: str = "",
    done: Mapping[str, BatchResult] | None = None,
    results_file: Path | None = None,
    retry_errors: bool = False,
) -> Iterator[tuple[BatchResult, bool]]:
    """(result, taken from ``done``) per input, in order; new results appended to the file."""
    done = done or {}
    for source, prompt in zip(sources, prompts, strict=True):
        key = result_key(source, prompt, setting)
        old = done.get(key)
        if old is not None and (old.ok or not retry_errors):
            yield old, True
            continue
        result = ask_one(engine, source, prompt, sampling, media, setting)
        if results_file is not None:
            with results_file.open("a", encoding="utf-8") as fh:
                fh.write(result.to_json() + "\n")
        yield result, False


def run_batch(
    target: Any,
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    prompt: str | Sequence[str] | Mapping[str, str],
    *,
    results_file: str | os.PathLike[str] | None = None,
    pattern: str = "*",
    progress: bool = True,
    retry_errors: bool = False,
    setting: str = "",
    **options: Any,
) -> BatchRun:
    """Ask ``prompt`` about every input and return the :class:`BatchRun`.

    ``target`` is a model id, LoadedModel, Engine, Session or ChatWidget (its engine is used;
    every input gets a fresh conversation). ``inputs`` is a folder or a list of files;
    ``prompt`` one prompt, a list with one per input, or a mapping from file (path or name)
    to prompt. ``options`` are Sampling fields (``max_new_tokens``, ``seed``, ``thinking``…)
    and media options (``page_range``, ``video_fps``…), as for :func:`ask`. With
    ``results_file`` (JSON Lines) each result is saved when it is made and inputs already
    there are skipped; failed ones are asked again only with ``retry_errors=True``.
    """
    engine = engine_of(target)
    sources = collect_inputs(inputs, pattern)
    prompts = _prompts(prompt, sources)
    sampling_changes, media = split_options(options)
    base = target.sampling if isinstance(target, Session) else None
    from ..config import default_sampling

    sampling = (base or default_sampling(engine.family)).replace(**sampling_changes)
    record = run_record(engine, sampling, media, prompts, len(sources))
    file = Path(results_file) if results_file is not None else None
    done = read_results(file) if file is not None else {}
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        _end_line(file)
    bar = _Bar(len(sources), setting or engine.name, progress)
    results: list[BatchResult] = []
    skipped = 0
    try:
        for result, old in iter_batch(
            engine,
            sources,
            prompts,
            sampling,
            media,
            setting=setting,
            done=done,
            results_file=file,
            retry_errors=retry_errors,
        ):
            results.append(result)
            skipped += old
            bar.step(f"{result.name}: {'skipped' if old else result.status}")
    finally:
        bar.close()
    record = dataclasses.replace(record, finished=datetime.now(UTC).isoformat(timespec="seconds"))
    return BatchRun(results=results, record=record, skipped=skipped)
