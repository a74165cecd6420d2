"""The public-only fetch check over a table of address spellings: IPv6 forms that carry an
IPv4 address, deprecated and translation ranges are refused; public addresses pass; anything
that does not parse is refused (fails closed)."""

from __future__ import annotations

import pytest

from glmv_ui.errors import MediaError
from glmv_ui.ui.fetch import FetchRules, fetch_files, is_public_address

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "::",
    "fe80::1%eth0",
    "fc00::1",
    "ff02::1",
    "::127.0.0.1",
    "::10.0.0.1",
    "::8.8.8.8",
    "::7f00:1",  # IPv4-compatible ::/96
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",  # IPv4-mapped
    "::ffff:0:7f00:1",
    "::ffff:0:8.8.8.8",  # IPv4-translated ::ffff:0:0:0/96
    "fec0::1",
    "feff::1",  # site-local fec0::/10
    "64:ff9b::7f00:1",
    "64:ff9b::808:808",
    "64:ff9b:1::1",  # NAT64
    "2002:7f00:1::1",
    "2002:808:808::1",  # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001::1",  # Teredo
    "not an address",
    "",
    "1.2.3",
    "::g",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82b::200e",
    "2001:4860:4860::8888",
]


@pytest.mark.parametrize("address", REFUSED)
def test_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    "host", ["[::127.0.0.1]", "[::ffff:0:7f00:1]", "[fec0::1]", "[64:ff9b::a00:1]"]
)
def test_a_url_naming_such_an_address_is_refused_before_any_connection(
    host: str, tmp_path: object
) -> None:
    from pathlib import Path

    rules = FetchRules(max_bytes=2**20, max_urls=2, deadline_s=5)
    with pytest.raises(MediaError, match="public"):
        fetch_files([f"http://{host}:9/a.png"], Path(str(tmp_path)), rules)
