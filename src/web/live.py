"""Subscriptions over `graphql-transport-ws` on /graphql.

The upgrade's `Origin` must be the service's own or one of `CLIENTGRAPH_CORS_ORIGINS`
(Strawberry refuses any other with 403 before accepting). The token comes in
`connection_init`'s payload, `{"Authorization": "Bearer <token>"}` or `{"token": "<token>"}`,
under the same rules as an HTTP request's (auth/authenticator.py); refused, the socket closes
with 4403, and counts against the address's failed-authentication budget. Only subscription
operations are served: queries and mutations go over HTTP, with its limits, deadlines and
idempotency. Strawberry caps a connection at `MAX_SUBSCRIPTIONS` operations: the next
subscribe gets an error message, the others go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from clientgraph.auth.access_tokens import bearer_token
from clientgraph.auth.token_errors import missing
from clientgraph.resolvers.context import Context
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

MAX_SUBSCRIPTIONS = 100
ONLY_SUBSCRIPTIONS = GraphQLError(
    "Only subscriptions are served over the websocket; send queries and mutations over HTTP.",
    extensions={"code": "BAD_REQUEST"},
)


@dataclass
class Handshake:
    """A websocket's context until its `connection_init` is accepted; then its `context`."""

    address: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connection_params: dict[str, Any] = field(default_factory=dict)
    context: Context | None = None


def init_token(params: dict[str, Any]) -> str:
    """The token of a `connection_init` payload; raises InvalidToken."""
    authorization = params.get("Authorization", params.get("authorization"))
    if isinstance(authorization, str):
        return bearer_token(authorization)
    token = params.get("token")
    if isinstance(token, str) and token.strip():
        return token.strip()
    raise missing()


def is_subscription(payload: Any, max_tokens: int) -> bool:
    """Whether a subscribe message asks for a subscription; a document that does not parse
    is left to Strawberry, which reports its syntax error."""
    query = payload.get("query") if isinstance(payload, dict) else None
    name = payload.get("operationName") if isinstance(payload, dict) else None
    if not isinstance(query, str) or not (name is None or isinstance(name, str)):
        return True
    try:
        operation = get_operation_ast(parse(query, max_tokens=max_tokens), name)
    except GraphQLError:
        return True
    return operation is None or operation.operation == OperationType.SUBSCRIPTION


class TextFrames(ASGIWebSocketAdapter):
    """Every message a text frame, as graphql-transport-ws requires (a browser's graphql-ws
    client closes the socket on a binary one); the view's `encode_json` gives bytes, for
    HTTP."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class LiveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    max_tokens = 5000

    @classmethod
    def limited(cls, max_tokens: int) -> type[LiveHandler]:
        return type(cls.__name__, (cls,), {"max_tokens": max_tokens})

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and isinstance(self.context, Handshake):
            assert self.context.context is not None
            self.context = self.context.context

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        if self.connection_acknowledged and not is_subscription(payload, self.max_tokens):
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [ONLY_SUBSCRIPTIONS.formatted]}
            )
            return
        await super().handle_subscribe(message)
