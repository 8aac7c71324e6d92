"""The one rule for what a request body may be, for every route that takes one (`/graphql`,
`/auth/*`, `/portal/*`): a body that is empty is 400, before anything else is looked at; then
its `Content-Type` is parsed as a media type (by the standard library's MIME header parser,
never matched as a substring) and must be one the route accepts, with only the parameters
that type allows, else 415 with one wording everywhere.

Every route accepts `application/json`, with `charset=utf-8` as its one allowed parameter.
`/graphql` takes its list from `GRAPHQL_BODIES`: JSON, and `multipart/form-data` (with its
`boundary` parameter) for file uploads by the GraphQL multipart request specification
(`importAccounts`), read by web/upload.py. Strawberry takes multipart bodies only when told
to, as a defence against cross-site request forgery by plain HTML forms; here every request
authenticates by its `Authorization` header, which no cross-site form can send."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.headerregistry import ContentTypeHeader
from email.policy import HTTP

from clientgraph.caches import BoundedLru
from clientgraph.web.errors import HttpError
from starlette.requests import Request

MEDIA_TYPE_REFUSED = (
    "Send the body as JSON with the header `Content-Type: application/json`"
    " (`charset=utf-8` is the one parameter allowed)."
)
EMPTY_BODY = (
    "The request body is empty: send a JSON object (at the least `{}`) with the header"
    " `Content-Type: application/json`."
)


@dataclass(frozen=True, slots=True)
class ContentType:
    """A `Content-Type` value as the standard library's MIME header parser reads it."""

    media_type: str
    params: tuple[tuple[str, str], ...]
    malformed: bool


PARSED_VALUES = 64
PARSED_BYTES = 64 * 1024
"""Each worker keeps the parse of the last few distinct `Content-Type` values it met: clients
send a handful, and the parser (which builds a header class on every call) cost more than
the rest of a planned read's checks together."""

_parsed: BoundedLru[str, ContentType] = BoundedLru(PARSED_VALUES, PARSED_BYTES)


def content_type(value: str) -> ContentType:
    """`value` parsed, or its kept parse."""
    parsed = _parsed.get(value)
    if parsed is None:
        header = HTTP.header_factory("content-type", value)
        assert isinstance(header, ContentTypeHeader)
        parsed = ContentType(
            header.content_type, tuple(header.params.items()), bool(header.defects)
        )
        _parsed.put(value, parsed, len(value))
    return parsed


@dataclass(frozen=True, slots=True)
class BodyType:
    """A media type a route accepts, and the parameters it may carry: name → the one value
    allowed (compared without regard to case), or None for any value."""

    media_type: str
    parameters: Mapping[str, str | None] = field(default_factory=dict)

    def admits(self, header: ContentType) -> bool:
        if header.malformed or header.media_type != self.media_type:
            return False
        for name, value in header.params:
            if name not in self.parameters:
                return False
            allowed = self.parameters[name]
            if allowed is not None and value.lower() != allowed:
                return False
        return True


JSON_BODY = BodyType("application/json", {"charset": "utf-8"})
JSON_ONLY = (JSON_BODY,)
MULTIPART_BODY = BodyType("multipart/form-data", {"boundary": None})
GRAPHQL_BODIES = (JSON_BODY, MULTIPART_BODY)
"""What POST /graphql takes."""


def spelled_canonically(request: Request, body_type: BodyType) -> Request:
    """`request` with its Content-Type written as `body_type`'s bare media type, for readers
    after this rule (Strawberry matches `application/json` case-sensitively, as a substring):
    they see what the rule admitted, spelled one way."""
    headers = [(name, value) for name, value in request.scope["headers"] if name != b"content-type"]
    headers.append((b"content-type", body_type.media_type.encode()))
    return Request({**request.scope, "headers": headers}, request.receive)


def declares(request: Request, body_type: BodyType) -> bool:
    """Whether the request's (first) `Content-Type` names `body_type`'s media type, whatever
    its parameters: which reader its body is for, before `require_body_type` checks it."""
    value = request.headers.get("content-type")
    return value is not None and content_type(value).media_type == body_type.media_type


def require_body_type(
    request: Request, body: bytes, accepted: tuple[BodyType, ...] = JSON_ONLY
) -> BodyType:
    """Which of `accepted` the request's body is; HttpError 400 for an empty body, 415 for a
    Content-Type that is missing, sent twice, malformed, or not one of `accepted`."""
    return body_type_of(request, blank=not body.strip(), accepted=accepted)


def body_type_of(
    request: Request, *, blank: bool, accepted: tuple[BodyType, ...] = JSON_ONLY
) -> BodyType:
    """`require_body_type` for a body not held in memory, which says itself whether it is
    blank (empty or only whitespace)."""
    if blank:
        raise HttpError(400, EMPTY_BODY)
    values = request.headers.getlist("content-type")
    if len(values) == 1:
        header = content_type(values[0])
        for body_type in accepted:
            if body_type.admits(header):
                return body_type
    raise HttpError(415, MEDIA_TYPE_REFUSED)
