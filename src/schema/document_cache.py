"""The generic path's parsed documents and validation results, cached per schema by the
document's text and bounded in count and bytes (`clientgraph.caches`). They replace
Strawberry's ParserCache and ValidationCache, whose LRUs hold a fixed number of documents of
any size: 256 documents of a megabyte each, with their tokens, are half a gigabyte per worker."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clientgraph.caches import BoundedLru
from clientgraph.schema.graphql_core import graphql_schema
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    Visitor,
    parse,
    validate,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext

DOCUMENTS_CACHED = 256
"""Parsed documents, and validation results, kept per process at most."""

BYTES_PER_TOKEN = 512
"""A parsed document with locations holds its text (Source) and, per token, a Token, a
Location and its share of the AST nodes: 380 to 490 bytes measured (`bench/cache_sizes.py`)."""
BYTES_PER_CHARACTER = 2
"""The text, and string literals once more as their values."""


def located_document_bytes(document: DocumentNode) -> int:
    """The estimated bytes of a document parsed with locations (as Strawberry parses)."""
    if document.loc is None:
        return 0
    tokens = 0
    token = document.loc.start_token
    while token is not None:
        tokens += 1
        token = token.next
    return BYTES_PER_CHARACTER * len(document.loc.source.body) + BYTES_PER_TOKEN * tokens


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


class LongestLiteralList(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.longest: ListValueNode | None = None

    def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
        if self.longest is None or len(node.values) > len(self.longest.values):
            self.longest = node


def longest_literal_list(document: DocumentNode) -> ListValueNode | None:
    """The longest list a document writes as a literal; None if it writes none."""
    literals = LongestLiteralList()
    visit(document, literals)
    return literals.longest


@dataclass(frozen=True, slots=True)
class Parsed:
    document: DocumentNode
    longest_list: ListValueNode | None
    """`longest_literal_list(document)`, found once: every execution checks it."""


@dataclass(frozen=True, slots=True)
class DocumentCaches:
    """One schema's caches: a validation result depends on the schema's rules, so an app
    with introspection off never reads the results of one with it on."""

    parsed: BoundedLru[tuple[str, int | None], Parsed]
    validated: BoundedLru[bytes, tuple[GraphQLError, ...]]

    @classmethod
    def bounded(cls, max_bytes: int) -> DocumentCaches:
        """Each of the two at most `DOCUMENTS_CACHED` entries and `max_bytes`."""
        return cls(BoundedLru(DOCUMENTS_CACHED, max_bytes), BoundedLru(DOCUMENTS_CACHED, max_bytes))


class CachedParse(SchemaExtension):
    """Parse once per text (and token limit). A document that does not parse (syntax, too
    many tokens) is left to Strawberry's own parse step, which reports it as a GraphQL error
    of the response: raised from the extension, it would skip the error policy."""

    def __init__(self, caches: DocumentCaches) -> None:
        super().__init__()
        self.caches = caches

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            parsed = self._parsed(_parse_key(context, context.query))
            context.graphql_document = parsed.document if parsed is not None else None
        yield

    def _parsed(self, key: tuple[str, int | None]) -> Parsed | None:
        parsed = self.caches.parsed.get(key)
        if parsed is None:
            try:
                document = parse(key[0], max_tokens=key[1])
            except GraphQLError:
                return None
            parsed = Parsed(document, longest_literal_list(document))
            self.caches.parsed.put(key, parsed, located_document_bytes(document))
        return parsed


def _parse_key(context: ExecutionContext, query: str) -> tuple[str, int | None]:
    return query, context.parse_options.get("max_tokens")


def executed_longest_list(
    caches: DocumentCaches, context: ExecutionContext
) -> ListValueNode | None:
    """The longest literal list of the document `context` executes: as its parse found it,
    unless the document did not come from the cache (then looked for now)."""
    document = context.graphql_document
    if document is None:
        return None
    if context.query is not None:
        parsed = caches.parsed.get(_parse_key(context, context.query))
        if parsed is not None and parsed.document is document:
            return parsed.longest_list
    return longest_literal_list(document)


class CachedValidation(SchemaExtension):
    """Validate once per text, with the schema's rules and Strawberry's own two, and with
    "Did you mean …?" suggestions only when `suggestions` (graphql-core's `hide_suggestions`,
    which Strawberry does not pass on): outside development they spell out the schema to
    anyone guessing names, even with introspection off.

    Every rule depends on the document alone; what depends on variables is checked at
    execution (NodeLimit, InputListLimit). A valid document's entry is a few bytes; the
    errors of an invalid one point into its document, so they weigh what the document does."""

    def __init__(self, caches: DocumentCaches, *, suggestions: bool) -> None:
        super().__init__()
        self.caches = caches
        self.suggestions = suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            key = text_digest(context.query) if context.query is not None else None
            errors = self.caches.validated.get(key) if key is not None else None
            if errors is None:
                errors = self._validate(
                    graphql_schema(context.schema), document, context.validation_rules
                )
                if key is not None:
                    size = located_document_bytes(document) if errors else 0
                    self.caches.validated.put(key, errors, size)
            context.pre_execution_errors = list(errors)
        yield

    def _validate(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> tuple[GraphQLError, ...]:
        return tuple(
            validate(
                schema,
                document,
                (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
                hide_suggestions=not self.suggestions,
            )
        )
