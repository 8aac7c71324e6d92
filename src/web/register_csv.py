"""The register as CSV over HTTP: `GET /export/accounts.csv?filter=<JSON>&orderBy=<JSON>`,
answered as a stream, and `POST /import/accounts.csv?dryRun=…&mode=…` (the file as the body
or as the multipart part `file`), answered with the import's report; both authenticated and
budgeted as /graphql is (web/graphql.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypeVar

from clientgraph.resolvers.context import Context
from clientgraph.resolvers.enums import ImportMode, Permission
from clientgraph.resolvers.errors import BadUserInput, Forbidden, RequestTimeout, UserErrors
from clientgraph.resolvers.policy import require
from clientgraph.resolvers.register_csv.export import RegisterExport
from clientgraph.resolvers.register_csv.upload import (
    ImportReport,
    ImportTimedOut,
    import_accounts,
)
from clientgraph.schema.inputs import (
    AccountFilterInput,
    AccountOrderInput,
    account_filter,
    account_order,
)
from clientgraph.schema.json_inputs import BadJsonInput, input_from_json
from clientgraph.web.deadline import CANCEL_GRACE_S
from clientgraph.web.errors import HttpError
from clientgraph.web.graphql import GraphQLApp, server_url
from clientgraph.web.request_id import request_id_of
from clientgraph.web.upload import uploaded_file
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

T = TypeVar("T")

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
EXPORT_HEADERS = {
    "Content-Disposition": 'attachment; filename="accounts.csv"',
    "Cache-Control": "no-store",
}


class RegisterCsvRoutes:
    def __init__(self, graphql: GraphQLApp) -> None:
        self.graphql = graphql

    def routes(self) -> list[Route]:
        return [
            Route("/export/accounts.csv", self.export, methods=["GET"]),
            Route("/import/accounts.csv", self.import_, methods=["POST"]),
        ]

    async def import_(self, request: Request) -> Response:
        return await self.graphql.answered(request, self._import)

    async def _import(self, request: Request, rate_headers: dict[str, str]) -> Response:
        """The caller and their right are checked before a byte of the file is read."""
        viewer, session = await self.graphql.signed_in(request, rate_headers)
        graphql = self.graphql
        context = Context(
            db=graphql.db,
            viewer=viewer,
            limits=graphql.limits,
            lists=graphql.lists,
            session=session,
            request_id=request_id_of(request.scope),
            server_url=server_url(request),
            webhooks=graphql.webhooks,
            replica=graphql.replica,
        )
        limit_s = graphql.settings.import_timeout_s
        deadline = time.monotonic() + limit_s
        backstop = asyncio.timeout(limit_s + CANCEL_GRACE_S)
        try:
            require(viewer, Permission.IMPORT_ACCOUNTS)
            dry_run = _flag(request, "dryRun")
            mode = _mode(request)
            async with backstop, uploaded_file(request, graphql.lists.import_bytes) as file:
                report = await import_accounts(
                    context, file, dry_run=dry_run, mode=mode, deadline=deadline
                )
        except ImportTimedOut:
            raise _timed_out(limit_s) from None
        except TimeoutError:
            if not backstop.expired():
                raise
            raise _timed_out(limit_s) from None
        except Forbidden as error:
            raise HttpError(403, str(error)) from None
        except RequestTimeout as error:
            raise HttpError(503, str(error), {"Retry-After": "1"}) from None
        except UserErrors as failure:
            errors = [
                {"field": error.field, "code": error.code.value, "message": error.message}
                for error in failure.errors
            ]
            return JSONResponse({"report": None, "userErrors": errors}, status_code=400)
        finally:
            await context.close()
        return JSONResponse({"report": report_json(report), "userErrors": []})

    async def export(self, request: Request) -> Response:
        return await self.graphql.answered(request, self._export)

    async def _export(self, request: Request, rate_headers: dict[str, str]) -> Response:
        viewer, session = await self.graphql.signed_in(request, rate_headers)
        try:
            spec = account_filter(self._parameter(request, "filter", AccountFilterInput))
            order = account_order(self._parameter(request, "orderBy", AccountOrderInput))
            export = RegisterExport.of(
                self.graphql.db,
                session,
                viewer,
                spec,
                order,
                self.graphql.lists,
            )
        except Forbidden as error:
            await session.close()
            raise HttpError(403, str(error)) from None
        except BadUserInput as error:
            await session.close()
            raise HttpError(400, str(error)) from None
        except BaseException:
            await session.close()
            raise
        return StreamingResponse(
            _closing(export.csv_chunks(), session),
            media_type=CSV_MEDIA_TYPE,
            headers=EXPORT_HEADERS,
        )

    def _parameter(self, request: Request, name: str, python_type: type[T]) -> T | None:
        text = request.query_params.get(name)
        if text is None or not text.strip():
            return None
        try:
            return input_from_json(self.graphql.schema, python_type, text)
        except BadJsonInput as error:
            message = f"`{name}` is not a valid {_type_name(python_type)}: {error}"
            raise BadUserInput(message) from None


def _type_name(python_type: type) -> str:
    return python_type.__name__.removesuffix("Input")


async def _closing(chunks: AsyncIterator[bytes], session: AsyncSession) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await session.close()


def _timed_out(limit_s: float) -> HttpError:
    return HttpError(
        503,
        f"The import ran longer than its limit of {limit_s:g} s (CLIENTGRAPH_IMPORT_TIMEOUT_S) "
        "and was rolled back: nothing was written.",
        extensions={"code": "TIMEOUT"},
    )


def report_json(report: ImportReport) -> dict[str, object]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "written": report.written,
        "rows": [
            {"row": row.row, "column": row.column, "code": row.code.value, "message": row.message}
            for row in report.rows
        ],
    }


def _flag(request: Request, name: str) -> bool:
    text = request.query_params.get(name, "false").strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise HttpError(400, f"`{name}` must be true or false.")
    return text in ("true", "1")


def _mode(request: Request) -> ImportMode:
    text = request.query_params.get("mode", ImportMode.ALL_OR_NOTHING.value).strip().upper()
    if text not in ImportMode.__members__:
        raise HttpError(400, f"`mode` must be one of {', '.join(ImportMode.__members__)}.")
    return ImportMode(text)
