"""The GraphQL view: Strawberry's ASGI app behind the checks every request passes, in this
order: the client address's failed-authentication budget, the token (401 before a byte of the
body is read), the caller's node budget, the body (counted while it streams; then not empty, of
a media type web/media_type.py admits, a JSON object, without NUL in its decoded text), and
only then one session, whose first transaction loads the user of a user token; a mutation
sent with an `Idempotency-Key` then claims it (web/idempotency.py), and the operation runs.
A multipart request (an upload) is the exception: its caller is loaded before its body, whose
limit depends on their right to import, and the body is spooled to a temporary file.

A websocket on the same path serves subscriptions (web/live.py): its token comes in
`connection_init` and is checked by the same `Authenticator`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any

import orjson
import sqlalchemy.exc
from clientgraph import links, metrics, tracing
from clientgraph.auth.access_tokens import UserClaims, bearer_token
from clientgraph.auth.authenticator import Authenticator
from clientgraph.auth.caller_cache import CallerCache
from clientgraph.auth.portal_tokens import PortalClaims
from clientgraph.auth.provider_tokens import OidcSignIn, ProviderUnavailable
from clientgraph.auth.token_errors import InvalidToken
from clientgraph.auth.viewer import Viewer
from clientgraph.db import tenancy
from clientgraph.db.engine import Database, DatabaseUnavailable, describe_loss
from clientgraph.db.readiness import Readiness
from clientgraph.db.replica import Replica
from clientgraph.outbox.webhook_urls import HostResolver, WebhookPolicy, default_resolver
from clientgraph.plan.document import Documents
from clientgraph.plan.errors import PlannerCrash
from clientgraph.plan.planner import (
    CRASHED_READ_PATH,
    DOCUMENTS_CACHED,
    READ_PATH_HEADER,
    CacheBounds,
    Planner,
)
from clientgraph.resolvers.context import Context, LiveSlots, PageLimits, caller_of
from clientgraph.resolvers.enums import Permission
from clientgraph.schema.extensions import QueryLimits
from clientgraph.schema.graphql_core import graphql_schema
from clientgraph.schema.schema import build_schema
from clientgraph.settings import Settings
from clientgraph.web import after_response
from clientgraph.web.body import read_body, spooled_body, with_body
from clientgraph.web.deadline import Deadline, within_deadline
from clientgraph.web.errors import HttpError, error_response
from clientgraph.web.graphiql import GraphiQLPage
from clientgraph.web.graphql_request import require_graphql_request, runs_mutation_field
from clientgraph.web.idempotency import Claim, IdempotencyKeys, request_hash, requested_key
from clientgraph.web.live import (
    MAX_SUBSCRIPTIONS,
    Handshake,
    LiveHandler,
    TextFrames,
    init_token,
)
from clientgraph.web.media_type import (
    GRAPHQL_BODIES,
    MULTIPART_BODY,
    body_type_of,
    declares,
    require_body_type,
    spelled_canonically,
)
from clientgraph.web.metrics import OPERATION_STATE
from clientgraph.web.nul_text import carries_nul
from clientgraph.web.persisted import PersistedDocuments
from clientgraph.web.planned import request_payload
from clientgraph.web.plans_ahead import PlansAhead
from clientgraph.web.rate_limits import Budget, RateLimits
from clientgraph.web.request_id import request_id_of
from clientgraph.web.request_log import facts_of, note_caller
from clientgraph.web.upload import multipart_operations
from cross_web import HTTPException
from graphql import OperationType
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

logger = logging.getLogger("clientgraph")

POOL_RETRY_AFTER_S = 1
ALLOWED_METHODS = ("GET", "POST")

NUL_ERROR = {
    "message": "Text may not contain NUL (U+0000) characters.",
    "extensions": {"code": "BAD_USER_INPUT"},
}


def client_address(request: Request) -> str:
    """The client's address as web/forwarded.py settles it: the peer's, or behind a proxy
    named in `CLIENTGRAPH_FORWARDED_ALLOW_IPS` the client its X-Forwarded-For names."""
    return request.client.host if request.client else "unknown"


def server_url(request: Request) -> str | None:
    """Where the request arrived: the server's listening address as the socket reports it
    (ASGI's `server`), never the Host header, which the client chooses. None on a Unix
    socket."""
    server = request.scope.get("server")
    if not server or not isinstance(server[1], int):
        return None
    return links.base_url(str(server[0]), server[1], request.scope.get("scheme", "http"))


class GraphQLApp(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames

    def __init__(
        self,
        settings: Settings,
        db: Database,
        rate_limits: RateLimits,
        readiness: Readiness,
        *,
        webhook_resolver: HostResolver | None = None,
        replica: Replica | None = None,
    ) -> None:
        """With `replica`, queries read from it while it serves their caller (db/replica.py)."""
        limits = QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_nodes=settings.max_nodes,
        )
        schema = build_schema(
            limits,
            introspection=settings.introspection,
            suggestions=settings.dev,
            document_cache_bytes=settings.document_cache_bytes,
        )
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
            allowed_origins=settings.cors_origin_list(),
            multipart_uploads_enabled=True,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
        )
        self.graphql_transport_ws_handler_class = LiveHandler.limited(settings.max_tokens)
        self.settings = settings
        self.db = db
        self.secret = settings.signing_secret()
        self.limits = PageLimits(settings.default_page_size, settings.max_page_size)
        self.lists = settings.list_limits()
        self.webhooks = WebhookPolicy(
            allow_private=settings.webhooks_allow_private,
            secret_grace=timedelta(seconds=settings.webhook_secret_grace_s),
            resolver=webhook_resolver or default_resolver(),
        )
        self.rate_limits = rate_limits
        self.readiness = readiness
        self.live_slots = LiveSlots(
            per_user=settings.live_max_subscriptions_per_user,
            per_process=settings.live_max_subscriptions_per_process,
        )
        self.persisted = PersistedDocuments(settings)
        self.planner = (
            Planner(
                graphql_schema(schema),
                limits,
                CacheBounds(settings.document_cache_bytes, settings.plan_cache_bytes),
                strict=settings.planner_strict,
            )
            if settings.planned_reads
            else None
        )
        self.replica = replica
        self.plans_ahead = (
            PlansAhead(
                self.planner,
                self.persisted.registered.values(),
                db=db,
                replica=replica,
                readiness=readiness,
                lists=self.lists,
                pages=self.limits,
                most_shapes=settings.plan_ahead_shapes,
                cpu_budget_s=settings.plan_ahead_cpu_s,
            )
            if self.planner is not None
            else None
        )
        self.documents = (
            self.planner.documents
            if self.planner is not None
            else Documents(
                graphql_schema(schema), limits, DOCUMENTS_CACHED, settings.document_cache_bytes
            )
        )
        """What tells a query from another operation, for the replica (the planner's cache
        of prepared documents, when it plans)."""
        self.oidc = OidcSignIn.configured(settings, db)
        self.callers = CallerCache(db.listen_url, settings.caller_cache_ttl_s())
        self.authenticator = Authenticator(db, self.secret, self.oidc, self.callers)
        self.graphiql = GraphiQLPage(settings)
        self.idempotency = IdempotencyKeys.for_requests(
            db, settings.request_timeout_s, settings.idempotency_max_keys_per_caller
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's answer, sent before a read's session ends (web/after_response.py)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        async with after_response.answering(scope):
            await super().__call__(scope, receive, send)

    async def start(self) -> None:
        """What runs beside requests while the app serves: the caller cache's listening, the
        replica's watcher, and planning the registered documents (web/plans_ahead.py)."""
        await self.callers.start()
        if self.replica is not None:
            await self.replica.start()
        if self.plans_ahead is not None:
            self.plans_ahead.start()

    async def stop(self) -> None:
        if self.plans_ahead is not None:
            await self.plans_ahead.stop()
        await self.callers.stop()
        if self.replica is not None:
            await self.replica.stop()

    def readiness_report(self) -> dict[str, Any]:
        """What /readyz adds about this view: whether the registered documents are planned."""
        return self.plans_ahead.report() if self.plans_ahead is not None else {}

    async def render_graphql_ide(self, request: Request) -> Response:
        return await self.graphiql.response()

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            handshake = Handshake(address=client_address(request))
            try:
                return await super().run(request, handshake, root_value)
            finally:
                if handshake.context is not None:
                    await handshake.context.close()
        if not isinstance(request, Request):
            return await super().run(request, context, root_value)
        response = await self.answered(request, self._answer)
        response.headers.setdefault(READ_PATH_HEADER, "generic")
        return response

    async def answered(
        self, request: Request, answer: Callable[[Request, dict[str, str]], Awaitable[Response]]
    ) -> Response:
        """`answer`'s response, or the one its refusal or the database's failure gives, with
        the `RateLimit-*` headers of the budgets it consulted (which it notes in the dict)."""
        rate_headers: dict[str, str] = {}
        try:
            response = await answer(request, rate_headers)
        except HttpError as error:
            response = error.response()
        except ProviderUnavailable as error:
            response = error_response(503, str(error), {"Retry-After": str(error.retry_after_s)})
        except HTTPException as error:
            response = error_response(error.status_code, error.reason)
        except DatabaseUnavailable as error:
            response = unavailable_response(request, error)
        except sqlalchemy.exc.TimeoutError:
            metrics.POOL_WAITS.inc()
            logger.warning(
                "request %s: no database connection free within %s s",
                request_id_of(request.scope),
                self.settings.db_pool_timeout_s,
            )
            response = busy_response()
        except sqlalchemy.exc.DBAPIError as error:
            if not tenancy.is_timeout(error):
                raise
            logger.warning(
                "request %s: the database did not answer in time before execution (%s)",
                request_id_of(request.scope),
                error.orig,
            )
            response = busy_response()
        for name, value in rate_headers.items():
            response.headers.setdefault(name, value)
        return response

    async def _answer(self, request: Request, rate_headers: dict[str, str]) -> Response:
        async with contextlib.AsyncExitStack() as held:
            return await self._answer_holding(request, rate_headers, held)

    async def _answer_holding(
        self, request: Request, rate_headers: dict[str, str], held: contextlib.AsyncExitStack
    ) -> Response:
        """The answer, with its sessions and what it reads into (a spooled upload) released by
        `held`: at once when it fails or wrote, else after the answer is sent."""
        scope = request.scope
        deadline = Deadline.starting_now(self.settings.request_timeout_s)
        address = client_address(request)
        address_budget = _noted(rate_headers, await self.rate_limits.failed_auth_budget(address))
        if request.method not in ALLOWED_METHODS:
            raise HttpError(405, "Method Not Allowed", {"Allow": ", ".join(ALLOWED_METHODS)})
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            return await self.render_graphql_ide(request)
        caller, who = await self._admit(request, address, address_budget, rate_headers, deadline)
        note_caller(request.scope, who)
        session = self.db.firm_session(who.firm_id)
        held.push_async_callback(session.close)
        multipart = request.method == "POST" and declares(request, MULTIPART_BODY)
        uploader: Viewer | None = None
        if multipart:
            uploader = await self._uploader(who, session, address, rate_headers)
            upload = await held.enter_async_context(
                spooled_body(request, self._body_limit(uploader))
            )
            body_type_of(request, blank=upload.blank, accepted=GRAPHQL_BODIES)
            payload = require_graphql_request(await multipart_operations(upload.replay(request)))
            replay: Callable[[Request], Request] = upload.replay
            files: str | None = upload.sha256
        else:
            body = await read_body(request, self.settings.max_body_bytes)
            if request.method == "POST":
                request = spelled_canonically(
                    request, require_body_type(request, body, GRAPHQL_BODIES)
                )
            request, body = await self.persisted.resolve(request, body)
            payload = require_graphql_request(request_payload(request, body))
            replay, files = partial(with_body, body=body), None
        request.scope.setdefault("state", {})[OPERATION_STATE] = payload.get("operationName")
        if carries_nul(payload, self.settings.max_tokens):
            return Response(
                orjson.dumps({"data": None, "errors": [NUL_ERROR]}),
                media_type="application/json",
            )
        requested = requested_key(request, payload, self.settings.max_tokens)
        viewer = (
            uploader
            if uploader is not None
            else await self._viewer(who, session, address, rate_headers)
        )
        note_caller(request.scope, viewer)
        if (
            multipart
            and may_import(viewer)
            and runs_mutation_field(payload, IMPORT_FIELD, self.settings.max_tokens)
        ):
            deadline = Deadline.starting_now(self.settings.import_timeout_s)
        claim = (
            None
            if requested is None
            else Claim(
                who.firm_id,
                caller,
                requested.key,
                request_hash(payload, files),
                requested.answer_kept,
                deadline.limit_s,
            )
        )
        if claim is not None:
            stored = await self._claim(claim, session)
            if stored is not None:
                _noted(rate_headers, await self.rate_limits.charge_nodes(caller, 1))
                return stored
        on_replica = not multipart and await self._reads_replica(payload, viewer)
        if on_replica:
            assert self.replica is not None
            await session.close()
            session = self.replica.firm_session(who.firm_id)
            held.push_async_callback(session.close)
        context = Context(
            db=self.db,
            viewer=viewer,
            limits=self.limits,
            lists=self.lists,
            session=session,
            request_id=request_id_of(request.scope),
            password_attempts=self.rate_limits.sign_ins.from_address(address),
            server_url=server_url(request),
            webhooks=self.webhooks,
            replica=self.replica,
            on_replica=on_replica,
        )
        held.push_async_callback(context.close)
        try:
            work = self._execute(payload, replay(request), context)
            with tracing.span("graphql.operation", _operation_attributes(payload)) as span:
                response = await within_deadline(work, request, context, deadline)
                if span is not None:
                    span.set_attributes(
                        {
                            "clientgraph.read_path": response.headers.get(
                                READ_PATH_HEADER, "generic"
                            ),
                            "clientgraph.cost": context.cost.requested_nodes,
                            "clientgraph.mutation_wrote": context.may_have_written,
                        }
                    )
                    if response.status_code >= 500:
                        tracing.failed(span, f"HTTP {response.status_code}")
        except BaseException:
            if claim is not None and not context.may_have_written:
                await self.idempotency.settle(claim, None)
            raise
        context.stop_reading()
        if context.may_have_written:
            await context.close()
        if claim is not None:
            await self.idempotency.settle(claim, response if context.may_have_written else None)
        context.raise_if_unavailable()
        if context.cost.requested_nodes > 0:
            facts_of(request.scope).cost = context.cost.requested_nodes
        nodes = _charge(context.cost.requested_nodes, self.settings.max_nodes)
        _noted(rate_headers, await self.rate_limits.charge_nodes(caller, nodes))
        if not context.may_have_written:
            after_response.defer(scope, held)
        return response

    async def _reads_replica(self, payload: dict[str, Any], viewer: Viewer) -> bool:
        """Whether the request is a query (a valid document whose operation to run reads
        only) whose caller the replica serves now (counted for `/metrics`). The caller was
        loaded on the primary session, which the request then leaves."""
        if self.replica is None or not self._is_query(payload):
            return False
        return await self.replica.chooses(caller_of(viewer))

    def _is_query(self, payload: dict[str, Any]) -> bool:
        query = payload.get("query")
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return False
        prepared = self.documents.get(query)
        operation = prepared.operation(operation_name) if prepared is not None else None
        return operation is not None and operation.operation == OperationType.QUERY

    async def _uploader(
        self,
        who: Viewer | UserClaims | PortalClaims,
        session: AsyncSession,
        address: str,
        rate_headers: dict[str, str],
    ) -> Viewer:
        """The caller of a multipart request (an upload), loaded before its body is read, so
        that only a caller who may import is let send an import-sized body; the transaction
        that loaded them ends before the body streams in, so a slow sender holds no
        connection."""
        viewer = await self._viewer(who, session, address, rate_headers)
        await self.db.end_read(session)
        return viewer

    def _body_limit(self, viewer: Viewer) -> int:
        """How many bytes `viewer` may send /graphql: an import's for a caller who may import,
        else the ordinary limit, answered beyond with the same 413 as any body."""
        return self.lists.import_bytes if may_import(viewer) else self.settings.max_body_bytes

    async def signed_in(
        self, request: Request, rate_headers: dict[str, str]
    ) -> tuple[Viewer, AsyncSession]:
        """The caller of a request to another route that authenticates as /graphql does (the
        CSV export and import), through the same budgets and checks, before its body is read;
        and a read session of the caller's firm, which the route closes."""
        deadline = Deadline.starting_now(self.settings.request_timeout_s)
        address = client_address(request)
        address_budget = _noted(rate_headers, await self.rate_limits.failed_auth_budget(address))
        _, who = await self._admit(request, address, address_budget, rate_headers, deadline)
        note_caller(request.scope, who)
        session = self.db.firm_session(who.firm_id)
        viewer = await self._viewer(who, session, address, rate_headers)
        note_caller(request.scope, viewer)
        return viewer, session

    async def _admit(
        self,
        request: Request,
        address: str,
        address_budget: Budget | None,
        rate_headers: dict[str, str],
        deadline: Deadline,
    ) -> tuple[str, Viewer | UserClaims | PortalClaims]:
        """(whose budget, who) of an authenticated request whose budgets are not spent."""
        if address_budget is not None and address_budget.spent:
            raise address_budget.exceeded(
                "Too many failed authentications from this address; retry later."
            )
        self.readiness.require_started()
        caller, who = await self._authenticate(request, address, rate_headers, deadline)
        budget = _noted(rate_headers, await self.rate_limits.nodes_budget(caller))
        if budget is not None and budget.spent:
            raise budget.exceeded("This caller's budget of nodes for the minute is spent.")
        return caller, who

    async def _execute(
        self, payload: dict[str, Any] | None, replayed: Request, context: Context
    ) -> Response:
        """The planned read path's answer if it has one, else Strawberry's, which reads the
        body from `replayed` (the deadline's disconnect watch listens to the request itself,
        whose body has been read)."""
        if self.planner is not None:
            try:
                planned = await self.planner.answer(payload, context)
            except PlannerCrash:
                return error_response(
                    500, "Internal server error.", {READ_PATH_HEADER: CRASHED_READ_PATH}
                )
            if planned is not None:
                return planned
        return await super().run(replayed, context)

    async def _claim(self, claim: Claim, session: AsyncSession) -> Response | None:
        """Claim the request's Idempotency-Key; the stored answer to give instead of running,
        if there is one. The read session ends its transaction first, as before a mutation
        (`Context.write`), so the request never holds two connections."""
        try:
            await self.db.end_read(session)
            stored = await self.idempotency.claim(claim)
        except BaseException:
            await session.close()
            raise
        if stored is not None:
            await session.close()
        return stored

    async def _authenticate(
        self, request: Request, address: str, rate_headers: dict[str, str], deadline: Deadline
    ) -> tuple[str, Viewer | UserClaims | PortalClaims]:
        """(whose budget, who) of the request's token, before a byte of the body is read (see
        `Authenticator.identify`): a user token's user is loaded after the body, in the
        request's own session and transaction (`_viewer`), so a slow sender holds no
        connection (for an upload, before the body, in a transaction ended before it streams
        in: `_uploader`)."""
        try:
            token = bearer_token(request.headers.get("authorization"))
            return await self.authenticator.identify(token, wait_s=deadline.remaining_s())
        except InvalidToken as error:
            raise await self._unauthorized(address, rate_headers, error) from error

    async def _viewer(
        self,
        who: Viewer | UserClaims | PortalClaims,
        session: AsyncSession,
        address: str,
        rate_headers: dict[str, str],
    ) -> Viewer:
        """The caller, loaded through the request's session when only the token's claims are
        known: the user may have been deleted or deactivated, or the contact's portal access
        revoked, since the token was signed."""
        try:
            return await self.authenticator.viewer(who, session)
        except InvalidToken as error:
            await session.close()
            raise await self._unauthorized(address, rate_headers, error) from error
        except Exception:
            await session.close()
            raise

    async def _unauthorized(
        self, address: str, rate_headers: dict[str, str], error: InvalidToken
    ) -> HttpError:
        _noted(rate_headers, await self.rate_limits.record_failed_auth(address))
        return HttpError(
            401, error.message, {"WWW-Authenticate": "Bearer"}, extensions={"reason": error.reason}
        )

    async def get_context(self, request: Any, response: Any) -> Context:
        raise AssertionError("the context is opened in run()")

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        """Accept a websocket's `connection_init` (web/live.py) and open its context."""
        handshake: Handshake = context
        budget = await self.rate_limits.failed_auth_budget(handshake.address)
        if budget is not None and budget.spent:
            raise ConnectionRejectionError({"message": "Too many failed authentications."})
        try:
            self.readiness.require_started()
            token = init_token(handshake.connection_params)
            _, who = await self.authenticator.identify(
                token, wait_s=self.settings.request_timeout_s
            )
            if isinstance(who, PortalClaims):
                raise ConnectionRejectionError({"message": "Portal tokens cannot subscribe."})
            session = self.db.firm_session(who.firm_id)
            try:
                viewer = await self.authenticator.viewer(who, session)
                await self.db.end_read(session)
            except BaseException:
                await session.close()
                raise
        except InvalidToken as error:
            await self.rate_limits.record_failed_auth(handshake.address)
            raise ConnectionRejectionError({"message": error.message}) from error
        except (HttpError, DatabaseUnavailable, ProviderUnavailable) as error:
            raise ConnectionRejectionError({"message": str(error)}) from error

        async def reauthenticate(session: AsyncSession) -> Viewer:
            _, now = await self.authenticator.identify(
                token, wait_s=self.settings.request_timeout_s
            )
            return await self.authenticator.viewer(now, session)

        handshake.context = Context(
            db=self.db,
            viewer=viewer,
            limits=self.limits,
            lists=self.lists,
            session=session,
            request_id=handshake.request_id,
            reauthenticate=reauthenticate,
            live_slots=self.live_slots,
        )
        return UNSET


IMPORT_FIELD = "importAccounts"
"""The mutation that may run for `CLIENTGRAPH_IMPORT_TIMEOUT_S` instead of a request's limit."""


def may_import(viewer: Viewer) -> bool:
    """Whether the caller of a multipart request may send a body as large as an import, and
    take as long as one: only with IMPORT_ACCOUNTS (a portal contact never)."""
    return viewer.has(Permission.IMPORT_ACCOUNTS)


def unavailable_response(request: Request, error: DatabaseUnavailable) -> Response:
    """503 SERVICE_UNAVAILABLE: nothing was changed, the client may send the request again."""
    logger.warning(
        "request %s: 503 for %s: %s (%s)",
        request_id_of(request.scope),
        request.url.path,
        error,
        describe_loss(error.__cause__) if error.__cause__ is not None else "-",
    )
    return error_response(503, str(error), {"Retry-After": str(error.retry_after_s)})


def busy_response() -> Response:
    """503 for a database too busy to answer before anything ran (no connection free, or the
    caller's own lookup past the statement timeout): nothing was changed, send it again."""
    return error_response(
        503, "The service is busy; retry shortly.", {"Retry-After": str(POOL_RETRY_AFTER_S)}
    )


def _operation_attributes(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The operation's name, when it has one of a GraphQL name's shape; never its document
    or variables (a mutation's may carry a password)."""
    name = metrics.operation_name((payload or {}).get("operationName"))
    return {} if name is None else {"graphql.operation.name": name}


def _charge(requested_nodes: int, max_nodes: int) -> int:
    """Nodes a request spends of its caller's budget: what it asked for when it ran, and 1
    when nothing ran (invalid, or refused as too complex), as GitHub charges."""
    return requested_nodes if 0 < requested_nodes <= max_nodes else 1


def _noted(headers: dict[str, str], budget: Budget | None) -> Budget | None:
    """Remember the latest budget for the response's `RateLimit-*` headers."""
    if budget is not None:
        headers.update(budget.headers())
    return budget
