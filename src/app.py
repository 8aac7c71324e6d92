"""The ASGI application: /graphql (GraphiQL in a browser), /healthz, /readyz."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from clientgraph.auth import InvalidToken, bearer_token, viewer_for_token
from clientgraph.db.engine import Database
from clientgraph.outbox import service as outbox
from clientgraph.resolvers.context import Context, PageLimits
from clientgraph.schema.extensions import QueryLimits
from clientgraph.schema.schema import build_schema
from clientgraph.settings import Settings, get_settings
from cross_web import HTTPException
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

logger = logging.getLogger("clientgraph")


NUL_ERROR = {
    "message": "Text may not contain NUL (U+0000) characters.",
    "extensions": {"code": "BAD_USER_INPUT"},
}


async def _carries_nul(request: Request) -> bool:
    """Whether any string of the request holds U+0000, which PostgreSQL cannot store or
    compare. JSON can carry it only as the escape \\u0000, so the raw text tells."""
    if any("\\u0000" in value or "\x00" in value for value in request.query_params.values()):
        return True
    return b"\\u0000" in await request.body()


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view, with authentication, a body limit and one session per request."""

    def __init__(self, settings: Settings, db: Database) -> None:
        schema = build_schema(
            QueryLimits(
                max_depth=settings.max_query_depth,
                max_aliases=settings.max_aliases,
                max_tokens=settings.max_tokens,
            )
        )
        super().__init__(schema, graphql_ide="graphiql", subscription_protocols=())
        self.settings = settings
        self.db = db
        self.secret = settings.signing_secret()
        self.limits = PageLimits(settings.default_page_size, settings.max_page_size)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if not isinstance(request, Request):
            return await super().run(request, context, root_value)
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await self.render_graphql_ide(request)
        await self._check_body_size(request)
        if await _carries_nul(request):
            return Response(
                orjson.dumps({"data": None, "errors": [NUL_ERROR]}),
                media_type="application/json",
            )
        context = await self._open_context(request)
        try:
            return await super().run(request, context, root_value)
        finally:
            await context.close()

    async def _check_body_size(self, request: Request) -> None:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, f"Request body larger than {limit} bytes.")
        if len(await request.body()) > limit:
            raise HTTPException(413, f"Request body larger than {limit} bytes.")

    async def _open_context(self, request: Request) -> Context:
        session = self.db.read_sessions()
        try:
            token = bearer_token(request.headers.get("authorization"))
            viewer = await viewer_for_token(session, self.secret, token)
        except InvalidToken as error:
            await session.close()
            raise HTTPException(401, f"Unauthorized: {error}") from error
        request_id = request.headers.get("x-request-id") or None
        context = Context(db=self.db, viewer=viewer, limits=self.limits, session=session)
        if request_id:
            context.request_id = request_id
        return context

    async def get_context(self, request: Any, response: Any) -> Context:
        raise AssertionError("the context is opened in run()")


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    database = db or Database(
        settings.server_database_url(),
        pool_size=settings.db_pool_size,
        timeouts=settings.database_timeouts(),
    )
    graphql = GraphQLApp(settings, database)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            logger.exception("database not reachable")
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ready")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        relay = outbox.start(settings, database) if settings.outbox_relay else None
        yield
        if relay is not None:
            await relay.stop()
        if db is None:
            await database.dispose()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
