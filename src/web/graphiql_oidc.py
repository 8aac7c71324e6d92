"""The identity provider as GraphiQL's page signs in there (authorization code with PKCE, in
the browser): its authorization and token endpoints, read from its discovery document once
and kept. The page needs them before it can offer the provider, and its Content-Security-Policy
must name the token endpoint's origin, the one other host it may call."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx
import orjson
from clientgraph.auth.provider_keys import is_trusted_url
from clientgraph.settings import Settings

logger = logging.getLogger("clientgraph.oidc")

RETRY_AFTER_FAILURE_S = 30.0
MAX_DOCUMENT_BYTES = 512 * 1024


class DiscoveryFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ProviderLogin:
    client_id: str
    audience: str
    authorization_endpoint: str
    token_endpoint: str

    @property
    def token_origin(self) -> str:
        url = httpx.URL(self.token_endpoint)
        default_port = {"https": 443, "http": 80}[url.scheme]
        port = "" if url.port in (None, default_port) else f":{url.port}"
        return f"{url.scheme}://{url.host}{port}"


class ProviderDiscovery:
    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_audience
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self.audience = settings.oidc_audience
        self.timeout_s = settings.oidc_http_timeout_s
        self._login: ProviderLogin | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def configured(cls, settings: Settings) -> ProviderDiscovery | None:
        return cls(settings) if settings.oidc_issuer and settings.oidc_client_id else None

    async def login(self) -> ProviderLogin | None:
        """The provider's endpoints, or None while its discovery document cannot be had (the
        page then offers passwords only, and asks again after RETRY_AFTER_FAILURE_S)."""
        async with self._lock:
            recently_failed = (
                self._failed_at is not None
                and time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_S
            )
            if self._login is None and not recently_failed:
                try:
                    async with asyncio.timeout(self.timeout_s):
                        self._login = await self._discover()
                except TimeoutError:
                    self._failed_at = time.monotonic()
                    logger.warning(
                        "GraphiQL cannot offer the identity provider: its discovery document"
                        " took longer than %g s",
                        self.timeout_s,
                    )
                except DiscoveryFailed as error:
                    self._failed_at = time.monotonic()
                    logger.warning("GraphiQL cannot offer the identity provider: %s", error)
            return self._login

    async def _discover(self) -> ProviderLogin:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise DiscoveryFailed(f"{url}: {type(error).__name__}: {error}") from error
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise DiscoveryFailed(f"{url} answered {response.status_code}")
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            raise DiscoveryFailed(f"{url} is not JSON") from error
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise DiscoveryFailed(f"{url} does not describe the issuer {self.issuer}")
        endpoints = [document.get("authorization_endpoint"), document.get("token_endpoint")]
        authorization, token = endpoints
        if not all(isinstance(e, str) and is_trusted_url(e) for e in endpoints):
            raise DiscoveryFailed(f"{url} names no https:// authorization and token endpoints")
        assert isinstance(authorization, str) and isinstance(token, str)
        return ProviderLogin(
            client_id=self.client_id,
            audience=self.audience,
            authorization_endpoint=authorization,
            token_endpoint=token,
        )
