"""The request payload the planned read path takes: `query`, `variables` and `operationName`
from a JSON body (POST; its media type checked by web/media_type.py before) or the query
string (GET), as Strawberry reads them."""

from __future__ import annotations

from typing import Any

import orjson
from clientgraph.web.body import json_object
from clientgraph.web.errors import HttpError
from starlette.requests import Request


def request_payload(request: Request, body: bytes) -> dict[str, Any]:
    """The GraphQL request as a dict, the body parsed once for every reader after it; a body
    that is no JSON object, or GET `variables` that are no JSON, is HttpError 400 in our
    words."""
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
            except orjson.JSONDecodeError as error:
                raise HttpError(
                    400, "`variables` must be a JSON object, written as JSON."
                ) from error
        return payload
    return json_object(body)
