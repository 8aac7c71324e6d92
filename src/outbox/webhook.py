"""Delivering a webhook: the outbox row's body, signed by the Standard Webhooks
specification (`standardwebhooks`), POSTed with httpx to the address its URL resolves to now,
once that address is checked (clientgraph.outbox.webhook_urls).

The request goes to the checked address itself, with the URL's host in the Host header and
as the TLS server name, so a name that resolves elsewhere a moment later (DNS rebinding)
cannot steer it. Redirects are not followed, the answer's body is not read, and a failure is
recorded as its status code or a fixed reason, never as text the other end sent."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from clientgraph.db import models
from clientgraph.db.engine import Database
from clientgraph.outbox import webhook_urls
from clientgraph.outbox.queue import Claimed
from clientgraph.outbox.sender import AttemptFailed, Sent, Undeliverable
from sqlalchemy import select
from standardwebhooks import Webhook

WEBHOOK_KIND = "webhook"
"""The kind of the outbox rows that are webhook deliveries; `recipient` is the webhook's id."""
USER_AGENT = "clientgraph-webhooks/1"


def signing_secrets(webhook: models.Webhook, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one while its
    grace period after a rotation lasts."""
    found = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires is not None and expires > now:
        found.append(webhook.previous_secret)
    return found


def sign(secrets: list[str], event_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    return " ".join(Webhook(secret).sign(event_id, at, body) for secret in secrets)


def _netloc(target: webhook_urls.Target) -> str:
    address = target.address
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    return f"{host}:{target.port}"


def _host_header(target: webhook_urls.Target) -> str:
    default = 443 if target.parts.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"


FAILURE_REASONS: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.TimeoutException, "no answer in time"),
    (httpx.ConnectError, "could not connect (refused, unreachable or TLS failed)"),
    (httpx.RemoteProtocolError, "the receiver did not answer with valid HTTP"),
    (httpx.ReadError, "the connection broke while waiting for the answer"),
    (httpx.WriteError, "the connection broke while sending"),
)


def failure_reason(error: httpx.HTTPError) -> str:
    """A fixed reason for a failed send. Never the error's own text: h11 and the TLS layer
    quote what the other end sent (an SSH or SMTP banner), and the delivery's `lastError`
    would hand an administrator a view of whatever listens at the URL."""
    for kind, reason in FAILURE_REASONS:
        if isinstance(error, kind):
            return reason
    return "the request failed"


@dataclass(frozen=True, slots=True)
class WebhookSender:
    db: Database
    allow_private: bool = False
    timeout_s: float = 10.0
    noun: str = "webhook delivery"
    resolver: webhook_urls.HostResolver = field(default_factory=webhook_urls.default_resolver)

    async def send(self, row: Claimed, firm_name: str) -> Sent:
        event_id, body = row.payload.get("eventId"), row.payload.get("body")
        if not isinstance(event_id, str) or not isinstance(body, str):
            raise Undeliverable("the delivery carries no event (payload.eventId, payload.body)")
        now = datetime.now(UTC)
        async with self.db.firm_session(row.firm_id) as session:
            webhook = (
                await session.scalars(
                    select(models.Webhook).where(
                        models.Webhook.firm_id == row.firm_id,
                        models.Webhook.id == uuid.UUID(row.recipient),
                    )
                )
            ).first()
            secrets = signing_secrets(webhook, now) if webhook is not None else []
        if webhook is None:
            raise Undeliverable("its webhook was deleted")
        try:
            async with asyncio.timeout(self.timeout_s):
                target, code = await self._post(webhook.url, event_id, now, body, secrets)
        except TimeoutError:
            raise AttemptFailed(f"no answer within {self.timeout_s:g} s") from None
        if 200 <= code < 300:
            return Sent(f"delivered to {webhook.url} ({target.address}): HTTP {code}", code)
        raise AttemptFailed(f"the receiver answered HTTP {code}", response_code=code)

    async def _post(
        self, url: str, event_id: str, now: datetime, body: str, secrets: list[str]
    ) -> tuple[webhook_urls.Target, int]:
        """Resolve the URL's host, check the address and POST to it: the whole of it within
        the caller's one time limit (`timeout_s`), the name lookup included."""
        try:
            target = await webhook_urls.target(
                url, allow_private=self.allow_private, resolver=self.resolver
            )
        except webhook_urls.RefusedUrl as error:
            raise AttemptFailed(str(error)) from None
        headers = {
            "host": _host_header(target),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sign(secrets, event_id, now, body),
        }
        address_url = target.parts._replace(netloc=_netloc(target)).geturl()
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self.timeout_s, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "POST",
                    address_url,
                    content=body.encode(),
                    headers=headers,
                    extensions={"sni_hostname": target.host},
                ) as response,
            ):
                return target, response.status_code
        except httpx.HTTPError as error:
            raise AttemptFailed(failure_reason(error)) from None
