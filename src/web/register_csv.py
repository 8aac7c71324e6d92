"""The register as CSV over HTTP: `GET /export/accounts.csv?filter=<JSON>&orderBy=<JSON>`,
authenticated and budgeted as /graphql is (web/graphql.py), answered as a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from clientgraph.resolvers.errors import BadUserInput, Forbidden
from clientgraph.resolvers.register_csv.export import RegisterExport
from clientgraph.schema.inputs import AccountFilterInput, AccountOrderInput
from clientgraph.schema.json_inputs import BadJsonInput, input_from_json
from clientgraph.schema.query import account_filter, account_order
from clientgraph.web.errors import HttpError
from clientgraph.web.graphql import GraphQLApp
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
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
        return [Route("/export/accounts.csv", self.export, methods=["GET"])]

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
                search_length=self.graphql.lists.search_length,
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
