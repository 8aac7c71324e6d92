"""Every answer that is not an executed operation, in the GraphQL-over-HTTP shape:
`{"errors": [{"message": ..., "extensions": {"code": ...}}]}`."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def error_response(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, object] | None = None,
) -> Response:
    """`extensions` adds to `code` what a client may act on (e.g. the firms to choose from)."""
    code = CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_SERVER_ERROR")
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


class HttpError(Exception):
    """An answer that ends the request before (or instead of) execution."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    def response(self) -> Response:
        return error_response(self.status, self.message, self.headers, self.extensions)


async def http_exception_handler(_: Request, error: Exception) -> Response:
    """Starlette's own 404 and 405 (unknown path, method a route does not take)."""
    assert isinstance(error, HTTPException)
    return error_response(error.status_code, error.detail, error.headers)
