"""What the sign-in routes outside /graphql (`/auth/*`, `/portal/*`) answer alike: their
HttpErrors as JSON, 503 while the database cannot be reached or its pool is exhausted, 429
while the client address has spent its budget of failed authentications or failed sign-ins
refuse the e-mail, and token answers that are never cached."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import sqlalchemy.exc
from clientgraph.auth.token_errors import Reason
from clientgraph.db.engine import DatabaseUnavailable
from clientgraph.db.readiness import Readiness
from clientgraph.web.errors import HttpError, error_response
from clientgraph.web.graphql import POOL_RETRY_AFTER_S, unavailable_response
from clientgraph.web.rate_limits import RateLimits
from clientgraph.web.request_id import request_id_of
from clientgraph.web.sign_in_throttle import SignInThrottle
from starlette.requests import Request
from starlette.responses import Response

logger = logging.getLogger("clientgraph.sign_in")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LOCKED_OUT = "Too many failed sign-ins for this e-mail; retry later."

Handler = Callable[[Request], Awaitable[Response]]


def guarded(readiness: Readiness, handler: Handler) -> Handler:
    """`handler`, with the answers every sign-in route shares."""

    async def endpoint(request: Request) -> Response:
        try:
            readiness.require_started()
            return await handler(request)
        except HttpError as error:
            return error.response()
        except DatabaseUnavailable as error:
            return unavailable_response(request, error)
        except sqlalchemy.exc.TimeoutError:
            logger.warning("request %s: no database connection free", request_id_of(request.scope))
            return error_response(
                503,
                "The service is busy; retry shortly.",
                {"Retry-After": str(POOL_RETRY_AFTER_S)},
            )

    return endpoint


async def check_address(rate_limits: RateLimits, address: str) -> None:
    """429 while the client address has spent its budget of failed authentications."""
    budget = await rate_limits.failed_auth_budget(address)
    if budget is not None and budget.spent:
        raise budget.exceeded("Too many failed authentications from this address; retry later.")


async def wrong_password(
    rate_limits: RateLimits,
    subject: str,
    address: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> HttpError:
    """The 401 of a sign-in whose password did not match, once the failure is counted
    against the address's failed authentications and against `subject`'s sign-ins
    (web/sign_in_throttle.py)."""
    await rate_limits.record_failed_auth(address)
    await rate_limits.sign_ins.failed(subject, address)
    return HttpError(401, message, headers, extensions={"reason": Reason.WRONG_CREDENTIALS})


async def check_sign_in(throttle: SignInThrottle, subject: str, address: str) -> None:
    """429 while failed sign-ins refuse `subject` from `address` (web/sign_in_throttle.py)."""
    refused = await throttle.refusal(subject, address)
    if refused is not None:
        raise refused.exceeded(LOCKED_OUT)
