"""Start real servers for tests: ``transformers serve`` on a tiny checkpoint, and app processes.

Readiness of an external process is polled over HTTP with bounded retries; nothing here is used
to synchronise the code under test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A child process serving HTTP on loopback; its output goes to ``log``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    model: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:  # OpenAI-style base URL
        return self.base_url + "/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def wait_ready(
    server: ServerProcess,
    probe: Callable[[], bool],
    *,
    timeout_s: float = 120.0,
    what: str = "server",
) -> None:
    """Poll ``probe`` until it returns True; fail with the process output if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {server.process.returncode}:\n{server.output()[-3000:]}"
            )
        if probe():
            return
        time.sleep(0.25)  # polling an external process for readiness
    server.stop()
    raise RuntimeError(f"{what} not ready after {timeout_s:.0f} s:\n{server.output()[-3000:]}")


def http_ok(url: str, must_contain: str = "") -> bool:
    import httpx

    try:
        response = httpx.get(url, timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and must_contain in response.text


def start_process(
    argv: Sequence[str],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    port: int,
) -> ServerProcess:
    full_env = {**os.environ, **(env or {})}
    handle = open(log, "wb")  # noqa: SIM115 - the child keeps its own copy of the descriptor
    try:
        process = subprocess.Popen(
            list(argv), stdout=handle, stderr=subprocess.STDOUT, env=full_env, cwd=str(cwd or ROOT)
        )
    finally:
        handle.close()
    return ServerProcess(process, port, log)


def start_transformers_serve(checkpoint: Path, log: Path) -> ServerProcess:
    """``transformers serve CHECKPOINT`` on a free loopback port, on the CPU, ready to answer."""
    port = free_port()
    exe = Path(sys.executable).with_name("transformers")
    argv = [
        str(exe),
        "serve",
        str(checkpoint),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--log-level",
        "warning",
    ]
    server = start_process(
        argv, log, port=port, env={"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    )
    server.model = str(checkpoint)
    wait_ready(server, lambda: http_ok(server.url + "/models", '"data"'), what="transformers serve")
    return server
