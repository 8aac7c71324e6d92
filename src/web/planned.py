"""The request payload the planned read path takes: `query`, `variables` and `operationName`
from a JSON body (POST; its media type checked by web/media_type.py before) or the query
string (GET), as Strawberry reads them."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request


def request_payload(request: Request, body: bytes) -> dict[str, Any] | None:
    """The GraphQL request as a dict, or None when it is not one the planner reads (Strawberry
    then answers it, with its errors for a malformed request)."""
    if request.method == "GET":
        params = request.query_params
        payload: dict[str, Any] = {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
        }
        variables = params.get("variables")
        if variables:
            try:
                payload["variables"] = orjson.loads(variables)
            except orjson.JSONDecodeError:
                return None
        return payload
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None
