"""Webhook URLs must not reach inside our own network (RELIABILITY row 7, SSRF).

A URL is vetted when an endpoint is saved and again right before each delivery: only http and
https; the host is resolved and *every* address it resolves to must be public (not loopback,
private, link-local, multicast, reserved, unspecified, nor an IPv4-mapped form of those).
Numeric tricks such as ``0x7f000001``, ``2130706433`` or ``127.1`` resolve to 127.0.0.1 and are
refused like it. The delivery then connects to the vetted address itself (no second lookup a
rebinding DNS name could answer differently) and never follows redirects.

``allow_private`` (setting ``webhook_allow_private``) lifts the address check, for tests and
local development only.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from frontdesk.errors import InvalidInput

MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(InvalidInput):
    """The URL is malformed or points at an address webhooks may not reach."""


@dataclass(frozen=True)
class VettedURL:
    url: str
    scheme: str
    host: str  # as written (a name or an address), for the Host header and TLS
    port: int
    address: str  # the vetted IP address to connect to

    def pinned_url(self) -> str:
        """The URL with its host replaced by the vetted address."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        return urlunsplit((parts.scheme, f"{host}:{self.port}", parts.path, parts.query, ""))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def address_problem(ip: IPAddress) -> str | None:
    """Why a webhook may not be sent to ``ip``, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return address_problem(ip.sixtofour)
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def parse_webhook_url(url: str) -> tuple[str, str, int]:
    """Check the shape of ``url``; return (scheme, host, port)."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("The webhook URL is empty.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"The webhook URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeURL("The webhook URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"The webhook URL is not valid: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL("The webhook URL must start with https:// or http://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("The webhook URL must not contain a user name or password.")
    host = parts.hostname or ""
    if not host:
        raise UnsafeURL("The webhook URL has no host name.")
    if parts.fragment:
        raise UnsafeURL("The webhook URL must not contain a #fragment.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"The webhook host {host!r} cannot be resolved ({exc}).") from None
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise UnsafeURL(f"The webhook host {host!r} has no address.")
    return addresses


def vet_url(url: str, *, allow_private: bool = False) -> VettedURL:
    """Refuse ``url`` unless it is http(s) and every address of its host is public."""
    scheme, host, port = parse_webhook_url(url)
    addresses = resolve(host, port)
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem is not None:
                raise UnsafeURL(
                    f"The webhook URL points at {problem} ({ip}); webhooks may only be sent "
                    "to public internet addresses."
                )
    return VettedURL(
        url=url.strip(), scheme=scheme, host=host, port=port, address=str(addresses[0])
    )
