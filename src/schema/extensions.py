"""Schema extensions: query limits, and the error policy that gives every top-level error an
`extensions.code` and masks everything unexpected."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from clientgraph.resolvers.errors import BadUserInput, Forbidden, RequestTimeout
from clientgraph.schema.cost import NodeLimit
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

logger = logging.getLogger("clientgraph.errors")

TOO_COMPLEX_MESSAGES = (
    re.compile(r"exceeds maximum operation depth of \d+"),
    re.compile(r"\d+ aliases found\. Allowed: \d+"),
    re.compile(r"Document contains more than \d+ tokens"),
    re.compile(r"Validation aborted\."),
)
BAD_INPUT_MESSAGES = (
    re.compile(r"^Variable '\$\w+'"),
    re.compile(r"^Int cannot represent"),
)


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_depth: int = 12
    max_aliases: int = 100
    max_tokens: int = 5000
    max_nodes: int = 50_000


def error_code(error: GraphQLError) -> str | None:
    """The code a client may rely on, or None for an error that must be masked."""
    original = error.original_error
    if isinstance(original, Forbidden):
        return "FORBIDDEN"
    if isinstance(original, BadUserInput):
        return "BAD_USER_INPUT"
    if isinstance(original, RequestTimeout):
        return "TIMEOUT"
    if original is not None and not isinstance(original, GraphQLError):
        return None
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    message = error.message
    if any(pattern.search(message) for pattern in TOO_COMPLEX_MESSAGES):
        return "QUERY_TOO_COMPLEX"
    if any(pattern.search(message) for pattern in BAD_INPUT_MESSAGES):
        return "BAD_USER_INPUT"
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


class ErrorPolicy(MaskErrors):
    """Known errors get their code; the rest become INTERNAL_SERVER_ERROR and are logged."""

    def __init__(self) -> None:
        super().__init__(error_message="Internal server error.")

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = []
        for error in errors:
            code = error_code(error)
            if code is None:
                logger.error(
                    "request %s: unexpected error at %s: %s",
                    getattr(self.execution_context.context, "request_id", "-"),
                    error.path,
                    error.message,
                    exc_info=error.original_error,
                )
                masked = self.anonymise_error(error)
                masked.extensions = {"code": "INTERNAL_SERVER_ERROR"}
                processed.append(masked)
            else:
                error.extensions = {**(error.extensions or {}), "code": code}
                processed.append(error)
        return processed


def schema_extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """Factories, never shared instances: extensions keep per-operation state."""
    return [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
        lambda: NodeLimit(max_nodes=limits.max_nodes),
        ErrorPolicy,
    ]
