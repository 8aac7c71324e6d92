"""The ASGI application: /graphql (GraphiQL in a browser), /healthz, /readyz."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from clientgraph.db.engine import Database
from clientgraph.settings import Settings, get_settings
from clientgraph.web.errors import http_exception_handler
from clientgraph.web.graphql import GraphQLApp
from clientgraph.web.rate_limits import RateLimits
from clientgraph.web.request_id import RequestIds
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

logger = logging.getLogger("clientgraph")


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    settings = settings or get_settings()
    database = db or Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=settings.db_pool_timeout_s,
    )
    graphql = GraphQLApp(settings, database, RateLimits(settings))

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
        yield
        if db is None:
            await database.dispose()

    return Starlette(
        routes=[
            Route("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(RequestIds)],
        exception_handlers={HTTPException: http_exception_handler},
        lifespan=lifespan,
    )
