"""The links the service e-mails, each built by one function: a staff user's set-password link
and a client's portal invitation.

A link leads to the firm's own page when one is configured (`CLIENTGRAPH_APP_URL`,
`CLIENTGRAPH_PORTAL_URL`), else to the page this service hosts, at the address of the server
that made the link: the socket the request arrived on, never its Host header, which whoever
sends the request chooses."""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlencode

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
"""Where `clientgraph serve` listens unless told otherwise: links made outside any server (by
the CLI, or by an event older than `SERVER_URL_KEY`) point there."""

SERVER_URL_KEY = "serverUrl"
"""The outbox payload entry naming the server that queued an e-mail, for its link."""

SET_PASSWORD_PATH = "/set-password"
PORTAL_PATH = "/portal"
PORTAL_ACCEPT_PATH = "/accept"
"""Below the portal's address: `CLIENTGRAPH_PORTAL_URL` + `/accept?token=…`."""

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}
"""A server listening on every address is reached from its own machine on the loopback one."""

DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=256)
def origin(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host[:port]` as a browser serializes an origin: scheme and host in lower
    case, an IPv6 address in brackets, the scheme's default port (or none) left out. Kept for
    the few addresses a server is reached at: every request names the one it arrived at."""
    scheme, host = scheme.lower(), host.lower()
    try:
        is_ipv6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_ipv6 = False
    named = f"[{host}]" if is_ipv6 else host
    shown_port = "" if port is None or DEFAULT_PORTS.get(scheme) == port else f":{port}"
    return f"{scheme}://{named}{shown_port}"


def base_url(host: str, port: int, scheme: str = "http") -> str:
    """The URL of a server listening on `host`:`port`, as a link names it."""
    return origin(scheme, WILDCARDS.get(host, host), port)


def _with_token(base: str, path: str, token: str) -> str:
    return f"{base.rstrip('/')}{path}?{urlencode({'token': token})}"


def set_password_url(token: str, *, app_url: str | None, server_url: str | None = None) -> str:
    """The link a staff user chooses a password with: `app_url` (`CLIENTGRAPH_APP_URL`) +
    `/set-password?token=…`, or without it the page of the server at `server_url`."""
    return _with_token(app_url or server_url or DEFAULT_SERVER_URL, SET_PASSWORD_PATH, token)


def portal_accept_url(token: str, *, portal_url: str | None, server_url: str | None = None) -> str:
    """The link a client accepts a portal invitation with: `portal_url`
    (`CLIENTGRAPH_PORTAL_URL`) + `/accept?token=…`, or without it the portal of the server at
    `server_url`."""
    portal = portal_url or (server_url or DEFAULT_SERVER_URL).rstrip("/") + PORTAL_PATH
    return _with_token(portal, PORTAL_ACCEPT_PATH, token)
