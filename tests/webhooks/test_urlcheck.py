from __future__ import annotations

import socket
from typing import Any

import pytest

from frontdesk.webhooks.urlcheck import UnsafeURL, vet_url

INWARD = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://localhost:8000/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://017700000001/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 wrapping 127.0.0.1
]

MALFORMED = [
    "",
    "   ",
    "ftp://93.184.216.34/hook",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://93.184.216.34:70/",
    "http://user:pass@93.184.216.34/hook",
    "http:///hook",
    "http://93.184.216.34:99999/hook",
    "http://93.184.216.34/ho ok",
    "http://93.184.216.34/hook#frag",
    "http://93.184.216.34/" + "a" * 2100,
    "http://no-such-host.invalid/hook",
]


@pytest.mark.parametrize("url", INWARD)
def test_inward_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL, match="public internet addresses"):
        vet_url(url)


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_urls_are_refused_with_a_message(url: str) -> None:
    with pytest.raises(UnsafeURL) as info:
        vet_url(url, allow_private=True)
    assert info.value.status == 422 and "webhook" in info.value.message.lower()


def test_public_address_is_accepted_and_pinned() -> None:
    vetted = vet_url("https://93.184.216.34:8443/hooks/in?x=1")
    assert vetted.address == "93.184.216.34"
    assert vetted.pinned_url() == "https://93.184.216.34:8443/hooks/in?x=1"
    assert vetted.host_header == "93.184.216.34:8443"


def test_loopback_is_allowed_only_by_the_setting() -> None:
    assert vet_url("http://127.0.0.1:9/hook", allow_private=True).address == "127.0.0.1"
    assert vet_url("http://[::1]:9/hook", allow_private=True).pinned_url() == "http://[::1]:9/hook"


def test_a_name_is_refused_when_any_of_its_addresses_is_inward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS is outside the machine: a name answering one public and one private address.
    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeURL, match="private"):
        vet_url("https://hooks.example.com/in")


def test_a_public_name_connects_to_its_vetted_address_with_its_own_host_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    vetted = vet_url("https://hooks.example.com/in")
    assert vetted.pinned_url() == "https://93.184.216.34:443/in"
    assert vetted.host_header == "hooks.example.com"
