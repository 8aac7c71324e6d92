"""The signing keys of an OIDC identity provider, fetched from its JWKS and kept in memory.

Keys are fetched on first use, again once they are older than `max_age_s`, and again when a
token names a key we do not hold (the provider rotated its keys) — but never more than once
per `min_refresh_interval_s`: a caller sending tokens with made-up key ids must not make us
fetch the JWKS on every request. One fetch runs at a time, as a task of its own, and the whole
of it (discovery, connecting, every byte) has one time limit: httpx's timeout bounds each read,
so a provider sending a byte a second would otherwise hold it for as long as it likes. Nobody
queues behind it: a token whose key is held is verified at once, even during a fetch, and one
that needs the fetch waits for it briefly (the request is answered 503 after that). A document
larger than `MAX_DOCUMENT_BYTES` is refused unread.

Only keys that can verify RS256 or ES256 signatures are kept: a symmetric (`oct`) key
published by mistake, or any other algorithm, is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from jwt import PyJWK, PyJWTError

logger = logging.getLogger("clientgraph.oidc")

ACCEPTED_ALGORITHMS = ("RS256", "ES256")
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_KEYS = 100


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_trusted_url(url: str) -> bool:
    """HTTPS, or plain HTTP to this machine (a provider in development or tests): keys
    fetched over plain HTTP from elsewhere could be swapped by anyone on the way."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    if parsed.scheme == "https":
        return bool(parsed.host)
    return parsed.scheme == "http" and parsed.host in LOOPBACK_HOSTS


class KeysUnavailable(Exception):
    """The provider's keys could not be fetched, and none are held."""


JOIN_WAIT_S = 1.0
"""How long a request waits for a fetch another request started: enough for a provider that
answers normally, not for one that is slow."""


class ProviderKeys:
    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None,
        timeout_s: float,
        max_age_s: float,
        min_refresh_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.timeout_s = timeout_s
        """The whole fetch: discovery, connecting, every byte of both documents."""
        self.max_age_s = max_age_s
        self.min_refresh_interval_s = min_refresh_interval_s
        self.clock = clock
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._fetching: asyncio.Task[bool] | None = None

    async def key(self, kid: str | None, *, wait_s: float) -> PyJWK | None:
        """The key named `kid` (or the provider's only key, when the token names none), or
        None when the provider does not publish it.

        A key held is answered at once, even while the keys are being fetched again (when they
        are older than `max_age_s`, in the background). Otherwise this waits for a fetch: one
        it starts, at most `wait_s`; one already running for another request, at most
        `JOIN_WAIT_S` of that. Raises KeysUnavailable when the fetch it needed failed or did
        not finish in that time, or no key is held and none may be fetched yet."""
        found = self._find(kid)
        if found is not None:
            if self._stale() and self._may_fetch():
                self._start_fetch()
            return found
        fetching = self._fetching
        if fetching is not None:
            wait_s = min(wait_s, JOIN_WAIT_S)
        elif self._may_fetch():
            fetching = self._start_fetch()
        elif self._keys:
            return None
        else:
            raise KeysUnavailable("the identity provider's keys could not be fetched lately")
        done, _ = await asyncio.wait({fetching}, timeout=max(wait_s, 0.0))
        if not done or not fetching.result():
            raise KeysUnavailable("the identity provider's keys are not fetched yet")
        return self._find(kid)

    def _find(self, kid: str | None) -> PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at >= self.max_age_s

    def _may_fetch(self) -> bool:
        return self._fetching is None and (
            self._attempted_at is None
            or self.clock() - self._attempted_at >= self.min_refresh_interval_s
        )

    def _start_fetch(self) -> asyncio.Task[bool]:
        """One fetch, as a task of its own: a request that stops waiting (its deadline, its
        client gone) leaves it running for the next."""
        self._attempted_at = self.clock()
        self._fetching = asyncio.create_task(self._refresh(self._attempted_at))
        return self._fetching

    async def _refresh(self, attempted_at: float) -> bool:
        """Whether the keys were fetched. Old keys stay in use when a fetch fails."""
        try:
            async with asyncio.timeout(self.timeout_s):
                self._keys = await self._fetch()
            self._fetched_at = attempted_at
            return True
        except KeysUnavailable as error:
            logger.warning("identity provider keys not refreshed: %s", error)
        except TimeoutError:
            logger.warning(
                "identity provider keys not refreshed: the fetch took longer than %g s",
                self.timeout_s,
            )
        finally:
            self._fetching = None
        return False

    async def _fetch(self) -> dict[str | None, PyJWK]:
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
            if self.jwks_url is None:
                self.jwks_url = await self._discover(client)
            document = await _get_json(client, self.jwks_url)
        keys = usable_keys(document)
        if not keys:
            raise KeysUnavailable(f"{self.jwks_url} holds no RS256 or ES256 signing key")
        logger.info("identity provider keys fetched: %s", ", ".join(map(str, keys)))
        return keys

    async def _discover(self, client: httpx.AsyncClient) -> str:
        """`jwks_uri` of the provider's discovery document, which must name the same issuer
        (OpenID Connect Discovery 1.0, §4.3)."""
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await _get_json(client, url)
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise KeysUnavailable(f"{url} does not describe the issuer {self.issuer}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not is_trusted_url(jwks_uri):
            raise KeysUnavailable(f"{url} names no HTTPS jwks_uri")
        return jwks_uri


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    try:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            if response.status_code != 200:
                raise KeysUnavailable(f"{url} answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise KeysUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        return orjson.loads(body)
    except httpx.HTTPError as error:
        raise KeysUnavailable(f"{url}: {type(error).__name__}: {error}") from error
    except orjson.JSONDecodeError as error:
        raise KeysUnavailable(f"{url} is not JSON") from error


def usable_keys(document: Any) -> dict[str | None, PyJWK]:
    """The RS256 and ES256 signing keys of a JWKS document, by key id."""
    members = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(members, list):
        return {}
    keys: dict[str | None, PyJWK] = {}
    for member in members[:MAX_KEYS]:
        if not isinstance(member, dict) or member.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK.from_dict(member)
        except PyJWTError:
            continue
        if key.algorithm_name in ACCEPTED_ALGORITHMS and isinstance(key.key_id, str | None):
            keys[key.key_id] = key
    return keys
