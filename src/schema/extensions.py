"""Schema extensions: query limits, and the error policy that gives every top-level error an
`extensions.code` and masks everything unexpected."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy.exc
from clientgraph.db.engine import CommitOutcomeUnknown, DatabaseUnavailable
from clientgraph.resolvers.errors import BadUserInput, Forbidden, RateLimited, RequestTimeout
from clientgraph.schema.cost import NodeLimit
from clientgraph.schema.document_cache import (
    CachedParse,
    CachedValidation,
    DocumentCaches,
    executed_longest_list,
)
from clientgraph.schema.portal_scope import PortalScope
from graphql import (
    ExecutionResult,
    GraphQLError,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

logger = logging.getLogger("clientgraph.errors")

TOO_COMPLEX_MESSAGES = (
    re.compile(r"exceeds maximum operation depth of \d+"),
    re.compile(r"\d+ aliases found\. Allowed: \d+"),
    re.compile(r"Document contains more than \d+ tokens"),
    re.compile(r"Validation aborted\."),
)
FORBIDDEN_MESSAGES = (re.compile(r"^GraphQL introspection has been disabled"),)
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
    if isinstance(original, RateLimited):
        return "RATE_LIMITED"
    if isinstance(original, DatabaseUnavailable):
        return "SERVICE_UNAVAILABLE"
    if isinstance(original, CommitOutcomeUnknown):
        return "COMMIT_OUTCOME_UNKNOWN"
    if isinstance(original, sqlalchemy.exc.TimeoutError):
        return "SERVICE_UNAVAILABLE"
    if original is not None and not isinstance(original, GraphQLError):
        return None
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    message = error.message
    if any(pattern.search(message) for pattern in TOO_COMPLEX_MESSAGES):
        return "QUERY_TOO_COMPLEX"
    if any(pattern.search(message) for pattern in FORBIDDEN_MESSAGES):
        return "FORBIDDEN"
    if any(pattern.search(message) for pattern in BAD_INPUT_MESSAGES):
        return "BAD_USER_INPUT"
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def longest_variable_list(variables: dict[str, Any]) -> tuple[str, int]:
    """(path, length) of the longest list anywhere in the variables; ("", 0) if none."""
    longest = ("", 0)
    pending: list[tuple[str, Any]] = [(f"${name}", value) for name, value in variables.items()]
    while pending:
        path, value = pending.pop()
        if isinstance(value, list):
            if len(value) > longest[1]:
                longest = (path, len(value))
            pending.extend((f"{path}.{index}", item) for index, item in enumerate(value))
        elif isinstance(value, dict):
            pending.extend((f"{path}.{key}", item) for key, item in value.items())
    return longest


class InputListLimit(SchemaExtension):
    """No list a request passes in, in its variables or written in the document, holds more
    than the context's `lists.input_list` items (Shopify's rule). One check for every
    input of every operation, after validation and before any resolver runs."""

    def __init__(self, caches: DocumentCaches) -> None:
        super().__init__()
        self.caches = caches

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        maximum = execution.context.lists.input_list
        where, length = longest_variable_list(execution.variables or {})
        node = executed_longest_list(self.caches, execution)
        if node is not None and len(node.values) > length:
            where, length = "A list in the query", len(node.values)
        else:
            node = None
        if length > maximum:
            message = f"{where} holds {length} items; a list may hold at most {maximum}."
            error = GraphQLError(
                message, node, extensions={"code": "BAD_USER_INPUT", "reason": "TOO_LONG"}
            )
            execution.result = ExecutionResult(data=None, errors=[error])
        yield


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


def schema_extensions(
    limits: QueryLimits,
    caches: DocumentCaches,
    *,
    introspection: bool = True,
    suggestions: bool = False,
) -> list[Callable[[], SchemaExtension]]:
    """Factories, never shared instances: extensions keep per-operation state.

    The depth and alias rules are made once here: Strawberry's QueryDepthLimiter and
    MaxAliasesLimiter make a new rule class per instance, hence per request, which no
    validation cache would ever find again."""
    document_limits = (max_depth_rule(limits.max_depth, None), max_aliases_rule(limits.max_aliases))
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: CachedParse(caches),
        lambda: AddValidationRules(list(document_limits)),
        lambda: InputListLimit(caches),
        lambda: NodeLimit(max_nodes=limits.max_nodes),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    extensions.append(lambda: CachedValidation(caches, suggestions=suggestions))
    extensions.append(PortalScope)
    extensions.append(ErrorPolicy)
    return extensions
