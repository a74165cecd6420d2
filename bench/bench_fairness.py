"""Fair use and the largest request: the figures for the access rules (SECURITY.md).

Starts the app (``app.py --engine scripted``: a reply takes about a third of a second, paced
like a small model) in a process of its own, then

1. times another user's ``ask`` alone (median of five), then while one client fires 50 ``ask``
   requests at once, in the same run;
2. sends the largest request the server accepts: a ``data:`` URL just under the upload limit
   (``--max-file-mb``, default 200 MB as the app's default), and reads the server's peak
   resident memory (``VmHWM``) before and after.

Run: ``python bench/bench_fairness.py [--max-file-mb 200]``.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _timed_ask(client, text: str) -> float:
    start = time.perf_counter()
    client.predict(text, api_name="/ask")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-file-mb", type=int, default=200)
    ap.add_argument("--flood", type=int, default=50)
    args = ap.parse_args()

    from gradio_client import Client

    from tests.serve_helpers import free_port, http_ok, start_process, wait_ready

    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="glmv-bench-")) / "app.log"
    server = start_process(
        [
            sys.executable,
            "app.py",
            "--engine",
            "scripted",
            "--model",
            "glm4v",
            "--port",
            str(port),
            "--max-file-size",
            str(args.max_file_mb),
        ],
        log,
        port=port,
        cwd=ROOT,
    )
    try:
        wait_ready(server, lambda: http_ok(server.base_url), what="the app")
        pid = server.process.pid
        other = Client(server.base_url, verbose=False)
        _timed_ask(other, "warm up")
        alone = statistics.median(_timed_ask(other, f"alone {i}") for i in range(5))

        flood = Client(server.base_url, verbose=False)
        jobs = [flood.submit(f"flood {i}", api_name="/ask") for i in range(args.flood)]
        contended = _timed_ask(other, "while flooded")
        refused = 0
        for job in concurrent.futures.as_completed([j.future for j in jobs], timeout=600):
            try:
                job.result()
            except Exception:  # noqa: BLE001 - a fair-use refusal is what is counted
                refused += 1
        print(
            f"another user's ask: {alone:.2f} s alone (median of 5), {contended:.2f} s while "
            f"one client fires {args.flood} at once ({args.flood - refused} of them served, "
            f"{refused} refused as busy)"
        )

        rss_before, peak_before = _vm(pid, "VmRSS"), _vm(pid, "VmHWM")
        size = args.max_file_mb * 2**20 - 4096
        payload = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8)).decode()
        body_mb = len(payload) / 2**20
        start = time.perf_counter()
        try:
            Client(server.base_url, verbose=False).predict(
                "big", [f"data:image/png;base64,{payload}"], api_name="/ask"
            )
            outcome = "answered"
        except Exception as exc:  # noqa: BLE001 - the media check refuses the fake picture
            outcome = f"refused after decoding: {str(exc)[:80]}"
        seconds = time.perf_counter() - start
        del payload
        peak_after, rss_after = _vm(pid, "VmHWM"), _vm(pid, "VmRSS")
        print(
            f"largest accepted request: {body_mb:.0f} MB of base64 ({size / 2**20:.0f} MB "
            f"decoded), {seconds:.1f} s, {outcome}"
        )
        print(
            f"server memory: resident {rss_before / 2**20:.0f} MB before, peak "
            f"{max(peak_before, peak_after) / 2**20:.0f} MB (was {peak_before / 2**20:.0f} MB; "
            f"+{(peak_after - rss_before) / 2**20:.0f} MB over the resident size), "
            f"{rss_after / 2**20:.0f} MB after"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
