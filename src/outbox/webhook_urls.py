"""Which webhook URLs the service posts to: http(s) only, and, unless private addresses are
allowed (`CLIENTGRAPH_WEBHOOKS_ALLOW_PRIVATE`), never to an address of this machine or of the
network it stands in (loopback, link-local such as cloud metadata, private ranges).

The rule is checked when a webhook is created or changed, and again at every delivery after
the host name is resolved, so a name that later resolves to a private address is refused too;
the delivery then connects to the very address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_S = 5.0

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    allow_private: bool = False
    """`CLIENTGRAPH_WEBHOOKS_ALLOW_PRIVATE`."""
    secret_grace: timedelta = timedelta(hours=24)
    """How long the previous secret still signs after a rotation."""


class RefusedUrl(ValueError):
    """The URL may not receive webhooks; the message says why, in the caller's words."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a delivery connects: the checked address, and the URL's own host and port."""

    parts: SplitResult
    host: str
    port: int
    address: IpAddress


def parse(url: str) -> SplitResult:
    """The URL's parts if it is an absolute http(s) URL with a host; RefusedUrl otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if url != url.strip() or any(ord(char) < 0x21 for char in url):
        raise RefusedUrl("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise RefusedUrl("The URL is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedUrl("The URL must start with https:// or http://.")
    if not parts.hostname:
        raise RefusedUrl("The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("The URL may not carry a user name or password.")
    return parts


def is_private(address: IpAddress) -> bool:
    """Loopback, link-local, private, shared, reserved, multicast or unspecified: anything not
    reachable on the public internet (an IPv4 address mapped into IPv6 counts as itself)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address `host` resolves to; RefusedUrl if it resolves to none in time."""
    literal = _literal(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError) as error:
        raise RefusedUrl(f"The host {host} could not be resolved ({error}).") from None
    found = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not found:
        raise RefusedUrl(f"The host {host} resolves to no address.")
    return found


def _refuse_private(host: str, addresses: list[IpAddress]) -> None:
    private = [address for address in addresses if is_private(address)]
    if private:
        raise RefusedUrl(
            f"The URL's host {host} is a private, loopback or link-local address ({private[0]});"
            " webhooks are delivered to public addresses only."
        )


async def check(url: str, *, allow_private: bool) -> None:
    """For a webhook being created or changed: the URL's form, and its host's addresses where
    it resolves now (one that does not resolve yet is checked again at delivery)."""
    parts = parse(url)
    if allow_private:
        return
    host = parts.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        raise RefusedUrl(f"The URL's host {host} is this machine; use a public address.")
    try:
        addresses = await resolve(host, parts.port or 443)
    except RefusedUrl:
        return
    _refuse_private(host, addresses)


async def target(url: str, *, allow_private: bool) -> Target:
    """For a delivery: the address to connect to, resolved now and checked."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not allow_private:
        _refuse_private(host, addresses)
    return Target(parts, host, port, addresses[0])
