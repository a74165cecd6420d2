"""Many sessions at once against a launched app, each checking that it got its own conversation
back; shared by the load test and bench/bench_load.py (which records the timings)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    sessions: int
    turns: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # per turn, submit to final output
    failures: list[str] = field(default_factory=list)  # what went wrong, per session

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else 0.0

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0


def _user_texts(chat: list[dict[str, Any]]) -> list[str]:
    out = []
    for message in chat:
        if message["role"] != "user":
            continue
        content = message["content"]
        parts = content if isinstance(content, list) else [content]
        out += [p.get("text", "") for p in parts if isinstance(p, dict) and p.get("text")]
    return out


def run_load(url: str, sessions: int = 16, turns: int = 3, max_new_tokens: int = 16) -> LoadResult:
    """``sessions`` clients, each in a thread with a session of its own, send ``turns``
    messages; each checks its conversation holds exactly its own messages, in order."""
    from gradio_client import Client

    result = LoadResult(sessions, turns)
    lock = threading.Lock()

    def one(index: int) -> None:
        client = Client(url, verbose=False)
        sent: list[str] = []
        for turn in range(turns):
            text = f"session {index} turn {turn}: describe tile {index * 100 + turn}"
            start = time.perf_counter()
            outputs = client.predict(
                {"text": text, "files": []}, max_new_tokens=max_new_tokens, api_name="/chat"
            )
            elapsed = time.perf_counter() - start
            sent.append(text)
            got = _user_texts(outputs[0])
            with lock:
                result.latencies.append(elapsed)
                if got != sent:
                    result.failures.append(f"session {index}: expected {sent}, saw {got}")

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    return result


if __name__ == "__main__":  # a load generator in a process of its own (bench/bench_load.py)
    import json
    import sys
    from dataclasses import asdict

    url, sessions, turns, tokens = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(asdict(run_load(url, sessions, turns, tokens))))
