"""Loopback servers for the access tests: one that records every connection (for "reaches
nothing" checks), one that drips its answer a byte at a time, one that speaks just enough of the
OpenAI protocol to record the headers it receives."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Listener:
    """Accepts connections on 127.0.0.1, records what each sent first, answers ``reply``."""

    reply: bytes = b"HTTP/1.1 500 Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    drip_s: float | None = None  # send ``reply`` one byte per this many seconds
    requests: list[bytes] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        self.connected.set()
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(data)
                if self.drip_s is None:
                    conn.sendall(self.reply)
                else:
                    for byte in self.reply:
                        if self.stop.wait(self.drip_s):  # the test ended
                            break
                        conn.sendall(bytes([byte]))
            except OSError:
                pass
        self.closed.set()


@contextmanager
def listening(listener: Listener | None = None) -> Iterator[Listener]:
    listener = listener or Listener()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    listener.port = sock.getsockname()[1]
    thread = threading.Thread(target=listener.serve, args=(sock,), daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        listener.stop.set()
        thread.join(5)
        sock.close()


def dripping_file(size: int = 4096) -> bytes:
    """An HTTP answer whose body is ``size`` bytes (sent a byte at a time by a drip listener)."""
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {size}\r\n\r\n".encode()
        + b"\x89" * size
    )
