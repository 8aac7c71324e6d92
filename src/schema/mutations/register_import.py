"""The register import as a mutation: `importAccounts(input: {file, dryRun, mode})`, the file
sent by the GraphQL multipart request specification (Strawberry's `Upload`). The same import
as POST /import/accounts.csv (resolvers/register_csv/upload.py)."""

from __future__ import annotations

from typing import Any

import strawberry
from clientgraph.resolvers.enums import ImportMode as ImportModeValue
from clientgraph.resolvers.register_csv.upload import ImportReport as Report
from clientgraph.resolvers.register_csv.upload import import_accounts
from clientgraph.schema.enums import ImportMode, UserErrorCode
from clientgraph.schema.payloads import UserError, respond
from clientgraph.schema.types import Info
from strawberry.file_uploads import Upload


@strawberry.type(description="A row of the file that was not imported, and why.")
class ImportRowError:
    row: int = strawberry.field(description="As a spreadsheet numbers it: the header is row 1.")
    column: str | None = strawberry.field(description="null: the row as a whole.")
    code: UserErrorCode
    message: str


@strawberry.type
class ImportReport:
    created: int
    updated: int
    unchanged: int
    failed: int
    written: bool = strawberry.field(
        description="false after a dry run, or when ALL_OR_NOTHING met a failing row: then "
        "the counts say what the import would have done, and nothing was written."
    )
    rows: list[ImportRowError] = strawberry.field(
        description="The failed rows' errors, every bad field of a row, the first 1000."
    )

    @classmethod
    def of(cls, report: Report) -> ImportReport:
        return cls(
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            failed=report.failed,
            written=report.written,
            rows=[
                ImportRowError(row=row.row, column=row.column, code=row.code, message=row.message)
                for row in report.rows
            ],
        )


@strawberry.input
class ImportAccountsInput:
    file: Upload = strawberry.field(
        description="The CSV in the export's columns (README, 'The register as CSV')."
    )
    dry_run: bool = False
    mode: ImportMode = ImportModeValue.ALL_OR_NOTHING  # type: ignore[assignment]


@strawberry.type
class ImportAccountsPayload:
    report: ImportReport | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


async def _imported(info: Info, input: ImportAccountsInput) -> Any:
    upload: Any = input.file
    return await import_accounts(
        info.context, upload.file, dry_run=input.dry_run, mode=ImportModeValue(input.mode)
    )


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Upsert accounts by customer number from a CSV (needs IMPORT_ACCOUNTS)."
    )
    async def import_accounts(
        self, info: Info, input: ImportAccountsInput
    ) -> ImportAccountsPayload:
        return await respond(
            ImportAccountsPayload,
            _imported(info, input),
            lambda report: {"report": ImportReport.of(report)},
        )
