"""A stand-in for ZeroGPU's device API on loopback, for running ``spaces`` on its ZeroGPU path.

``spaces`` (``spaces/zero/api.py``) posts to ``/startup-report``, ``/schedule`` (ask for a GPU;
the answer says whether the GPU's worker is idle and can be reused), ``/allow`` (a new worker
process registers its pid) and ``/release`` (the task ended; ``fail`` says how). This stand-in
grants GPU 0 at once, answers ``idle`` when no task is in flight and a worker has started, and
records every call so a test can tell which worker served which request.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Call:
    path: str
    params: dict[str, str]
    idle: bool | None = None  # what /schedule answered
    at: float = field(default_factory=time.monotonic)  # the clock is shared by all processes


@dataclass
class SchedulerStandIn:
    """Serves the device API on ``url`` until :meth:`close`."""

    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = standin.answer(url.path, params)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, path: str, params: dict[str, str]) -> bytes:
        with self._lock:
            if path == "/schedule":
                token = uuid.uuid4().hex
                started = any(c.path == "/allow" for c in self.calls)
                idle = started and not self._in_flight
                self._in_flight.add(token)
                self.calls.append(Call(path, params, idle))
                return json.dumps(
                    {
                        "idle": idle,
                        "nvidiaIndex": 0,
                        "nvidiaUUID": "GPU-standin",
                        "allowToken": token,
                    }
                ).encode()
            if path == "/release":
                self._in_flight.discard(params.get("allowToken", ""))
            self.calls.append(Call(path, params))
            return b"{}"

    def of(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
