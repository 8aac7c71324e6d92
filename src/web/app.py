"""The ASGI application: /graphql (GraphiQL in a browser, its assets under /graphiql/), /auth
(staff sign-in), /portal (client portal sign-in and page), the pages the e-mailed links open
(/set-password, /portal/accept; their assets under /pages/), the register as CSV
(/export/accounts.csv), /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from clientgraph import metrics, tracing
from clientgraph.db.engine import Database, DatabaseUnavailable
from clientgraph.db.migrate import upgrade_for_server
from clientgraph.db.readiness import Readiness
from clientgraph.db.replica import Replica
from clientgraph.db.shared_writes import SharedWrites
from clientgraph.outbox import service as outbox
from clientgraph.outbox.webhook_urls import HostResolver
from clientgraph.settings import Settings, get_settings
from clientgraph.web.auth_routes import AuthRoutes
from clientgraph.web.cors import Cors
from clientgraph.web.errors import http_exception_handler
from clientgraph.web.forwarded import ForwardedClients
from clientgraph.web.graphiql import ASSETS_PATH, GraphiQLAssets
from clientgraph.web.graphql import GraphQLApp, unavailable_response
from clientgraph.web.metrics import MetricsRoute, RequestMetrics
from clientgraph.web.pages import LinkPages
from clientgraph.web.portal_routes import PortalRoutes
from clientgraph.web.rate_limits import RateLimits
from clientgraph.web.register_csv import RegisterCsvRoutes
from clientgraph.web.request_id import RequestIds, log_request_ids
from sqlalchemy.orm import configure_mappers
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

logger = logging.getLogger("clientgraph")


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    *,
    migrate: bool | None = None,
    webhook_resolver: HostResolver | None = None,
) -> Starlette:
    """The service. With `migrate`, it starts even while its database is down: migrations
    run in the background until they succeed, and until then /readyz and /graphql answer 503.
    By default it migrates when it reads its settings from the environment: called without
    arguments, as uvicorn's `--factory`, gunicorn's `'clientgraph.app:create_app()'` and
    `clientgraph serve` call it, it is the whole service and brings its database up to date.
    `webhook_resolver` resolves webhook hosts (the process's own by default).

    Work beside the requests (the outbox relay) starts once the database is reachable and
    migrated.

    The ORM's mappers are configured here, at start-up, rather than by the first request that
    touches one (some 40 ms of its CPU).
    """
    if migrate is None:
        migrate = settings is None
    settings = settings or get_settings()
    log_request_ids()
    database = db or Database(
        settings.server_database_url(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        timeouts=settings.database_timeouts(),
        connect_timeout_s=settings.db_connect_timeout_s,
        pgbouncer=settings.pgbouncer,
        listen_url=settings.listen_database_url,
    )
    configure_mappers()
    metrics.watch_engine(database.engine)
    tracing.start(settings.otel_endpoint, settings.otel_service_name)
    tracing.watch_engine(database.engine)
    readiness = Readiness(
        database, migrate=functools.partial(upgrade_for_server, settings) if migrate else None
    )
    rate_limits = RateLimits(settings)
    replica = replica_of(settings, database)
    if replica is not None:
        metrics.watch_engine(replica.engine)
        tracing.watch_engine(replica.engine)
    graphql = GraphQLApp(
        settings,
        database,
        rate_limits,
        readiness,
        webhook_resolver=webhook_resolver,
        replica=replica,
    )
    auth = AuthRoutes(settings, database, rate_limits, readiness)
    portal = PortalRoutes(settings, database, rate_limits, readiness)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            await readiness.check()
        except DatabaseUnavailable as error:
            return unavailable_response(request, error)
        report = {"status": "ready", **graphql.readiness_report()}
        if replica is not None:
            report["replica"] = replica.state.value
        return JSONResponse(report)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        migrating = None
        if migrate:
            migrating = asyncio.create_task(readiness.migrate_until_done())
            await readiness.first_migration_attempt(settings.db_connect_timeout_s)
        relay = (
            outbox.start(settings, database, readiness, webhook_resolver)
            if settings.outbox_relay
            else None
        )
        await graphql.start()
        try:
            yield
        finally:
            await graphql.stop()
            if relay is not None:
                await relay.stop()
            if migrating is not None:
                migrating.cancel()
            if db is None:
                await database.dispose()
            tracing.TRACING.flush()

    return Starlette(
        routes=[
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            Mount(ASSETS_PATH, GraphiQLAssets(), name="graphiql"),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *auth.routes(),
            *portal.routes(),
            *LinkPages().routes(),
            *MetricsRoute(settings).routes(),
            *RegisterCsvRoutes(graphql).routes(),
        ],
        middleware=_middleware(settings),
        exception_handlers={HTTPException: http_exception_handler},
        lifespan=lifespan,
    )


def replica_of(settings: Settings, database: Database) -> Replica | None:
    """The read replica `CLIENTGRAPH_REPLICA_URL` names, pooled as the primary is; with
    `REDIS_URL`, told of the callers' writes in every process (db/shared_writes.py)."""
    url = settings.server_replica_url()
    if url is None:
        return None
    return Replica(
        url,
        database,
        max_lag_s=settings.replica_max_lag_s,
        check_interval_s=settings.replica_check_interval_s,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
        pgbouncer=settings.pgbouncer,
        shared_writes=(
            SharedWrites(settings.redis_url, settings.redis_key_prefix, settings.replica_max_lag_s)
            if settings.redis_url
            else None
        ),
    )


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: every answer is counted, RequestIds' masked 500 included; the client
    address is settled before anything counts by it; CORS headers go on every answer."""
    origins = settings.cors_origin_list()
    cors = [Middleware(Cors, origins=origins)] if origins else []
    forwarded = Middleware(ForwardedClients, trusted=settings.forwarded_allow_ip_list())
    return [Middleware(RequestMetrics), forwarded, *cors, Middleware(RequestIds)]


def create_migrating_app() -> Starlette:
    """What `clientgraph serve` runs on a server database: `create_app()`, migrating."""
    return create_app(migrate=True)
