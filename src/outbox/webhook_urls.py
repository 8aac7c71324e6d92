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
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    allow_private: bool = False
    """`CLIENTGRAPH_WEBHOOKS_ALLOW_PRIVATE`."""
    secret_grace: timedelta = timedelta(hours=24)
    """How long the previous secret still signs after a rotation."""
    resolver: HostResolver = field(default_factory=lambda: default_resolver())
    """Resolves the URL's host when a webhook is created or changed."""


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
    port = parts.port
    if port is not None and port not in ALLOWED_PORTS and port < LOWEST_HIGH_PORT:
        raise RefusedUrl(
            f"The URL's port {port} is not allowed; use 80, 443 or a port from"
            f" {LOWEST_HIGH_PORT} up."
        )
    return parts


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (RFC 6052): a gateway forwards to the IPv4 address in the last
32 bits."""
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
"""NAT64 for local use (RFC 8215): whatever it reaches is the operator's own network."""
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
"""IPv4-compatible addresses (deprecated, RFC 4291): the IPv4 address in the last 32 bits."""
ALLOWED_PORTS = frozenset({80, 443})
LOWEST_HIGH_PORT = 1024
"""Webhooks post to 80, 443 or an unprivileged port, never to a system service's port (SSH,
SMTP, a database) that a URL would otherwise let the relay probe."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and reaches: IPv4-mapped, IPv4-compatible,
    NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_private(address: IpAddress) -> bool:
    """Loopback, link-local, private, shared, reserved, multicast or unspecified: anything not
    reachable on the public internet. An IPv6 address that carries an IPv4 address (mapped,
    compatible, NAT64, 6to4) is judged by that IPv4 address too, since a gateway or the host's
    own stack delivers it there."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in LOCAL_NAT64:
            return True
        if address not in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")):
            embedded = embedded_ipv4(address)
            if embedded is not None and is_private(embedded):
                return True
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


Lookup = Callable[[str, int], list[str]]
"""A blocking name lookup: the addresses (text) `host` has for TCP to `port`."""


def system_lookup(host: str, port: int) -> list[str]:
    """The operating system's resolver (`getaddrinfo`)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class HostResolver:
    """Resolves the host names of webhook URLs on `threads` threads of its own, at most that
    many lookups at a time, each awaited for at most `timeout_s`.

    A `getaddrinfo` that hangs cannot be cancelled: it keeps its thread until the system
    resolver gives up. On the event loop's default executor, names that resolve slowly (an
    administrator's, or a partner's broken DNS) would take the threads other work needs; here
    they take at most this resolver's threads, and once all are busy a lookup is refused at
    once instead of queueing behind them."""

    def __init__(
        self, lookup: Lookup = system_lookup, *, threads: int = 4, timeout_s: float = 5.0
    ) -> None:
        self.lookup = lookup
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="clientgraph-webhook-dns")
        self._slots = threading.BoundedSemaphore(threads)

    async def resolve(
        self, host: str, port: int, timeout_s: float | None = None
    ) -> list[IpAddress]:
        """Every address `host` resolves to; RefusedUrl if it resolves to none in time, or
        every thread is still busy with earlier lookups."""
        literal = _literal(host)
        if literal is not None:
            return [literal]
        if not self._slots.acquire(blocking=False):
            raise RefusedUrl(f"The host {host} could not be resolved now (too many lookups).")
        try:
            running = self._executor.submit(self.lookup, host, port)
        except BaseException:
            self._slots.release()
            raise
        running.add_done_callback(lambda _: self._slots.release())
        wait_s = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        try:
            found = await asyncio.wait_for(asyncio.wrap_future(running), wait_s)
        except TimeoutError:
            raise RefusedUrl(f"The host {host} could not be resolved in time.") from None
        except (OSError, UnicodeError) as error:
            raise RefusedUrl(f"The host {host} could not be resolved ({error}).") from None
        addresses = [ipaddress.ip_address(text.split("%", 1)[0]) for text in found]
        if not addresses:
            raise RefusedUrl(f"The host {host} resolves to no address.")
        return addresses


_default_resolver: HostResolver | None = None


def default_resolver() -> HostResolver:
    """The process's resolver of webhook hosts, made on first use."""
    global _default_resolver
    if _default_resolver is None:
        _default_resolver = HostResolver()
    return _default_resolver


def _refuse_private(host: str, addresses: list[IpAddress]) -> None:
    private = [address for address in addresses if is_private(address)]
    if private:
        raise RefusedUrl(
            f"The URL's host {host} is a private, loopback or link-local address ({private[0]});"
            " webhooks are delivered to public addresses only."
        )


async def check(url: str, *, allow_private: bool, resolver: HostResolver | None = None) -> None:
    """For a webhook being created or changed: the URL's form, and its host's addresses where
    it resolves now (one that does not resolve yet is checked again at delivery). Called with
    no database connection held: a lookup may take the resolver's whole timeout."""
    parts = parse(url)
    if allow_private:
        return
    host = parts.hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        raise RefusedUrl(f"The URL's host {host} is this machine; use a public address.")
    try:
        addresses = await (resolver or default_resolver()).resolve(host, parts.port or 443)
    except RefusedUrl:
        return
    _refuse_private(host, addresses)


async def target(
    url: str,
    *,
    allow_private: bool,
    resolver: HostResolver | None = None,
    timeout_s: float | None = None,
) -> Target:
    """For a delivery: the address to connect to, resolved now (within `timeout_s`) and
    checked."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await (resolver or default_resolver()).resolve(host, port, timeout_s)
    if not allow_private:
        _refuse_private(host, addresses)
    return Target(parts, host, port, addresses[0])
