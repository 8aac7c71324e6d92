"""A request id on every answer and in every log line about the request, and the last line of
defence: an exception nothing else handled becomes a masked JSON 500."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Any

from clientgraph.web.errors import error_response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("clientgraph.errors")

HEADER = "X-Request-Id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "clientgraph_request_id", default="-"
)


def log_request_ids() -> None:
    """Give every log record, of any logger, the id of the request it was written in
    (`record.request_id`; "-" outside requests), so a log format can show it. Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "adds_request_id", False):
        return

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    record_with_request_id.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)


class RequestIdFilter(logging.Filter):
    """For a handler that may see records made before `log_request_ids` ran (a log format
    naming `%(request_id)s` would fail on them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


def request_id_of(scope: Scope) -> str:
    """The id `RequestIds` gave this request."""
    return scope.get("state", {}).get("request_id") or current_request_id.get()


def _chosen_id(scope: Scope) -> str:
    """The client's id when it is a plausible one (it ends up in logs), else a new one."""
    offered = Headers(scope=scope).get(HEADER)
    if offered is not None and SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestIds:
    """Pure ASGI middleware: sets the id, echoes it in `X-Request-Id`, masks stray errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _chosen_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = current_request_id.set(request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("request %s: unexpected error", request_id)
            if started:
                raise
            response = error_response(500, "Internal server error.")
            await response(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
