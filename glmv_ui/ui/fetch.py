"""Files by URL for ``ask``: only globally routable addresses (unless the operator allows
others), failing closed; every connection goes to the address that was checked; the downloads of
one request share one deadline and one size cap, checked before any fetch for the URL count; a
``data:`` URL is judged by its encoded length and decoded in pieces straight to disk.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import mimetypes
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..config import AppConfig
from ..errors import MediaError
from ..reasons import reason

__all__ = ["FetchRules", "fetch_files", "is_public_address"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchRules:
    """What one request's files by URL may take, all of them together."""

    max_bytes: int  # the files' total size
    max_urls: int  # how many files
    deadline_s: float  # all downloads together
    allow_private: bool = False  # also addresses that are not globally routable
    trust_env: bool = False  # use the environment's proxy settings
    read_timeout_s: float = 10.0  # one read; a stalled server fails within this of the deadline

    @classmethod
    def from_config(cls, config: AppConfig, max_upload_mb: int) -> FetchRules:
        return cls(
            max_bytes=max_upload_mb * 2**20,
            max_urls=config.media.max_images,
            deadline_s=config.fetch_deadline_s,
            allow_private=config.fetch_private,
            trust_env=config.fetch_proxy,
        )


# IPv6 ranges refused whatever Python's ``is_global`` says: forms that carry an IPv4 address
# (which may be a private one) and deprecated ranges.
_REFUSED_V6 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated): ::127.0.0.1
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "fec0::/10",  # site-local (deprecated)
        "2002::/16",  # 6to4
        "64:ff9b::/96",
        "64:ff9b:1::/48",  # NAT64
        "2001::/32",  # Teredo
    )
)


def is_public_address(text: str) -> bool:
    """Whether the address ``text`` (a zone suffix allowed) may be fetched from: globally
    routable, not multicast, and no IPv6 form that carries an IPv4 address or a deprecated
    range. Fails closed: anything that does not parse is not public."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return _global(address)


def _global(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether ``address`` is globally routable. IPv6 addresses that carry an IPv4 one
    (compatible, mapped, translated, 6to4, NAT64, Teredo) and site-local ones are refused
    outright: a public file never needs them, and they could lead to an address that is not
    public."""
    if isinstance(address, ipaddress.IPv6Address) and any(address in n for n in _REFUSED_V6):
        return False
    return bool(address.is_global) and not address.is_multicast


def _check_host(host: str, url: str) -> None:
    """Refuse a host unless every address it resolves to is globally routable (fails closed:
    a name that does not resolve is refused too)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise MediaError(url[:80], reason("url.unresolvable")) from None
    if not infos or not all(is_public_address(str(info[4][0])) for info in infos):
        raise MediaError(url[:80], reason("url.private"))


class _Budget:
    """The bytes and the time left to one request's downloads."""

    def __init__(self, rules: FetchRules) -> None:
        self.rules = rules
        self.left = rules.max_bytes
        self.deadline = time.monotonic() + rules.deadline_s
        self.taken: dict[str, int] = {}

    def take(self, name: str, size: int) -> None:
        self.left -= size
        self.taken[name] = self.taken.get(name, 0) + size
        limit_mb = self.rules.max_bytes // 2**20
        if self.taken[name] > self.rules.max_bytes:
            raise MediaError(name, reason("url.too_large", limit_mb=limit_mb))
        if self.left < 0:
            raise MediaError(name, reason("url.total", limit_mb=limit_mb))

    def check_time(self, name: str) -> None:
        if time.monotonic() > self.deadline:
            raise MediaError(name, reason("url.deadline", seconds=self.rules.deadline_s))


def fetch_files(urls: list[str], folder: Path, rules: FetchRules) -> list[str]:
    """Download ``urls`` into ``folder`` (each under a name of its own), within ``rules``: the
    count is checked before anything is fetched, a ``data:`` URL by its encoded length before
    it is decoded, downloads against the total size while reading and against one deadline.
    Returns local paths named after the URLs' file names. A file that cannot be written (a
    full disk) is removed and refused with a clear message."""
    if len(urls) > rules.max_urls:
        raise MediaError("files", reason("fetch.count", count=len(urls), limit=rules.max_urls))
    budget = _Budget(rules)
    paths = []
    for i, url in enumerate(urls):
        parts = urlsplit(url.strip())
        if parts.scheme == "data":
            header, _, payload = url.partition(",")
            mime = header[5:].split(";")[0] or "application/octet-stream"
            name = f"attachment-{i + 1}{mimetypes.guess_extension(mime) or ''}"
            encoded = header.endswith(";base64")
            # Judged by its length before anything is decoded (base64: 3 bytes per 4 chars).
            budget.take(name, len(payload) * 3 // 4 if encoded else len(payload))
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            _store(
                target, _decoded(payload, name) if encoded else iter([unquote(payload).encode()])
            )
        else:
            name = os.path.basename(unquote(parts.path)) or f"file-{i + 1}"
            name = name[:120] if name not in (".", "..") else f"file-{i + 1}"
            target = folder / f"{i:02d}" / name
            target.parent.mkdir(parents=True)
            _download(url, target, budget)
        paths.append(str(target))
    return paths


def _decoded(payload: str, name: str) -> Iterator[bytes]:
    """Base64 ``payload`` decoded a piece at a time (a whole copy is never made)."""
    step = 4 << 16
    for start in range(0, len(payload), step):
        try:
            yield base64.b64decode(payload[start : start + step], validate=False)
        except (ValueError, binascii.Error):
            raise MediaError(name, reason("url.data")) from None


def _store(target: Path, blocks: Iterable[bytes]) -> None:
    """Write ``blocks`` to ``target``; on a write error (the disk is full, a file size limit)
    the partial file is removed and the caller gets a clear refusal (the log the detail)."""
    try:
        with open(target, "wb") as out:
            for block in blocks:
                out.write(block)
    except OSError as exc:
        target.unlink(missing_ok=True)
        _log.warning("could not store a fetched file: %s", exc)
        raise MediaError(target.name, reason("disk.full")) from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise


class _Connector:
    """httpcore's network backend for one request's downloads. Each connection goes to an
    address checked when it is made (no second lookup that a changing DNS answer could
    steer), and all of them are shut at the deadline, which wakes a read that a slow server
    keeps waiting (httpx's timeouts are per read, not per download)."""

    def __init__(self, check: bool) -> None:
        import httpcore

        self.inner = httpcore.SyncBackend()
        self.check = check
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> Any:
        address = _checked_address(host) if self.check else host
        stream = self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
        sock = stream.get_extra_info("socket")
        with self._lock:
            if isinstance(sock, socket.socket):
                self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return stream

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> Any:
        raise OSError("no unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _checked_address(host: str) -> str:
    """The first address of ``host``, when every address it has is globally routable."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise OSError(f"{host} does not resolve") from None
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise OSError(f"{host} is not a public address")
    return addresses[0]


def _download(url: str, target: Path, budget: _Budget) -> None:
    """GET ``url`` into ``target``; every redirect is checked like the first address."""
    import httpx

    rules = budget.rules
    name = target.name
    budget.check_time(name)
    connector = _Connector(check=not rules.allow_private and not rules.trust_env)
    transport = httpx.HTTPTransport(trust_env=rules.trust_env)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = connector
    timer = threading.Timer(max(0.0, budget.deadline - time.monotonic()), connector.expire)
    timer.daemon = True
    timer.start()
    try:
        with httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(min(rules.read_timeout_s, rules.deadline_s)),
            follow_redirects=False,
            trust_env=rules.trust_env,
        ) as client:
            for _ in range(5):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise MediaError(url[:80], reason("url.scheme"))
                if not rules.allow_private:
                    _check_host(parts.hostname, url)
                try:
                    with client.stream("GET", url) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = str(response.url.join(response.headers["location"]))
                            continue
                        if response.status_code != 200:
                            raise MediaError(
                                name, reason("url.status", status=response.status_code)
                            )

                        def blocks(response: httpx.Response = response) -> Iterator[bytes]:
                            for block in response.iter_bytes():  # as each read arrives
                                budget.check_time(name)
                                budget.take(name, len(block))
                                yield block

                        _store(target, blocks())
                        return
                except (httpx.HTTPError, OSError) as exc:
                    if connector.expired:
                        raise MediaError(
                            name, reason("url.deadline", seconds=rules.deadline_s)
                        ) from None
                    if (
                        isinstance(exc, OSError)
                        and not isinstance(exc, httpx.HTTPError)
                        and "public address" in str(exc)
                    ):
                        raise MediaError(url[:80], reason("url.private")) from None
                    _log.info("fetching a file failed: %s", type(exc).__name__)
                    raise MediaError(name, reason("url.failed")) from None
        raise MediaError(name, reason("url.redirects"))
    finally:
        timer.cancel()
