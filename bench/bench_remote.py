"""Client CPU cost of the remote engine's streaming against bare SSE clients, in one run.

    .venv/bin/python bench/bench_remote.py [--tokens 2000] [--repeat 5] [--gap-us 1000]
    .venv/bin/python bench/bench_remote.py --in-process [--tokens 4000]

A child process serves an OpenAI-style ``/chat/completions`` stream on loopback: ``--tokens``
chunks of one short content delta each, written and flushed one event at a time as a real server
does, then a finish chunk with usage and ``[DONE]``. With ``--gap-us`` (default 1000, a pace
faster than any real model yet slow enough that each event arrives in a read of its own) the
server waits between events; ``--gap-us 0`` sends as fast as it can, so many events share a read
and the per-read costs of each client are hidden. ``--in-process`` serves the same events through
an ``httpx`` transport in this process, one event per read and no sockets: the framing and the
engine's own work, without the kernel's noise.

The client side is timed in CPU seconds of this process (a server in its own process does not
count), so the figures are what each client spends per token:

- ``lines``: ``httpx`` ``iter_lines`` + ``json.loads`` of each ``data:`` line, nothing else (the
  least any client over ``httpx`` can do; the baseline, 1.00);
- ``httpx-sse``: ``httpx_sse.EventSource.iter_sse`` + ``json.loads`` of each event;
- ``engine``: ``RemoteEngine.stream`` (request body, framing, reasoning folding, stats per chunk).

Paths are interleaved so drift hits each alike; the median of ``--repeat`` runs is shown.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _events(n: int) -> list[bytes]:
    def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": f" w{i % 97}"}) for i in range(n)]
    out.append(chunk({}, "length"))
    usage = chunk({})
    usage["choices"] = []
    usage["usage"] = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": n + 10}
    out.append(usage)
    return [f"data: {json.dumps(e)}\n\n".encode() for e in out] + [b"data: [DONE]\n\n"]


def serve(port_file: str, n: int, gap_s: float) -> None:
    """The child process: answer every POST with the same stream, one write per event."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    events = _events(n)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in events:
                self.wfile.write(event)
                self.wfile.flush()
                if gap_s:
                    time.sleep(gap_s)  # the pace of a generating model

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(httpd.server_address[1]))
    httpd.serve_forever()


def _start_server(n: int, gap_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port_file), str(n), str(gap_s)]
    )
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the bench server did not start")
        time.sleep(0.05)  # waiting for a child process to bind its port
    return proc, f"http://127.0.0.1:{port_file.read_text()}/v1"


def _paths(url: str, n: int, transport: Any) -> dict[str, Callable[[], int]]:
    import httpx
    from httpx_sse import EventSource

    from glmv_ui.config import Sampling
    from glmv_ui.engines.base import GenerationRequest
    from glmv_ui.engines.remote import RemoteEngine
    from glmv_ui.messages import user_message

    endpoint = url + "/chat/completions"
    body = {"model": "bench", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    engine = RemoteEngine(
        url, model="bench", family="glm4v_moe", extra_sampling=False, transport=transport
    )
    request = GenerationRequest([user_message("hi")], Sampling(max_new_tokens=n, temperature=0.0))

    def lines() -> int:
        count = 0
        with (
            httpx.Client(transport=transport) as client,
            client.stream("POST", endpoint, json=body) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("data:") and line[5:].strip() != "[DONE]":
                    for choice in json.loads(line[5:])["choices"]:
                        count += bool(choice["delta"].get("content"))
        return count

    def sse() -> int:
        count = 0
        with (
            httpx.Client(transport=transport) as client,
            client.stream("POST", endpoint, json=body) as response,
        ):
            for event in EventSource(response).iter_sse():
                if event.data != "[DONE]":
                    for choice in event.json()["choices"]:
                        count += bool(choice["delta"].get("content"))
        return count

    def via_engine() -> int:
        final = deque(engine.stream(request), maxlen=1)[0]
        assert final.stats.finish_reason == "length"
        return final.stats.generated_tokens

    return {"lines": lines, "httpx-sse": sse, "engine": via_engine}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--gap-us", type=float, default=1000.0)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), float(args.serve[2]))
        return
    n = args.tokens
    proc = None
    if args.in_process:
        import httpx

        events = _events(n)
        transport = httpx.MockTransport(
            lambda request: httpx.Response(
                200, headers={"Content-Type": "text/event-stream"}, content=iter(events)
            )
        )
        url, how = "http://bench/v1", "in process, one event per read"
    else:
        proc, url = _start_server(n, args.gap_us / 1e6)
        transport, how = None, f"loopback, one event per write, {args.gap_us:g} µs apart"
    paths = _paths(url, n, transport)
    cpu: dict[str, list[float]] = {k: [] for k in paths}
    wall: dict[str, list[float]] = {k: [] for k in paths}
    try:
        for fn in paths.values():  # warm-up: imports, first connection
            fn()
        for _ in range(args.repeat):
            for name, fn in paths.items():
                c0, w0 = time.process_time(), time.perf_counter()
                tokens = fn()
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
                assert tokens == n, (name, tokens)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)
    base = statistics.median(cpu["lines"])
    print(f"{n} tokens, {how}, median of {args.repeat} runs, client CPU only")
    print(f"{'path':10} {'µs/token':>9} {'vs lines':>9} {'+µs/token':>10} {'wall tok/s':>11}")
    for name in paths:
        c = statistics.median(cpu[name])
        w = statistics.median(wall[name])
        print(
            f"{name:10} {c / n * 1e6:9.1f} {c / base:9.2f} {(c - base) / n * 1e6:10.1f} "
            f"{n / w:11.0f}"
        )


if __name__ == "__main__":
    main()
