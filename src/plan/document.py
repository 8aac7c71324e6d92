"""Parsed and validated documents, cached by their text: parsing and validation run once per
document, with the limits Strawberry's execution applies (tokens, depth, aliases)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from clientgraph.caches import BoundedLru
from clientgraph.schema.document_cache import LongestLiteralList
from clientgraph.schema.extensions import QueryLimits
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    ParallelVisitor,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid document: its operations by name, its fragments, and its longest list
    literal (inputs are limited in length)."""

    digest: bytes
    """SHA-256 of the text: what caches key on, so they never hold the text itself."""
    document: DocumentNode
    operations: tuple[OperationDefinitionNode, ...]
    fragments: dict[str, FragmentDefinitionNode]
    longest_literal_list: int
    bindable: frozenset[str]
    sized_by_variables: bool
    """Whether a bound variable sets how long a list is (`nodes(ids: $ids)`): then the node
    count depends on its value, not only on the plan."""
    """Variables used only where the plan binds them as SQL parameters (see `BINDABLE`): a
    plan serves every value of them, so only their presence is part of its cache key."""

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        """The operation to run, as `graphql.get_operation_ast` picks it."""
        if name is None:
            return self.operations[0] if len(self.operations) == 1 else None
        for operation in self.operations:
            if operation.name is not None and operation.name.value == name:
                return operation
        return None


BYTES_PER_NODE = 128
"""An AST node parsed without locations: 84 to 110 bytes measured (`bench/cache_sizes.py`)."""
INVALID_BYTES = 0
"""An invalid document is remembered as None under its digest: the entry's overhead alone."""


class Documents:
    """Prepared documents by their text's digest, least recently used out, bounded in count
    and bytes; an invalid document is remembered as None. Documents are parsed without
    locations, so an entry keeps no comment, whitespace or location: its names and literal
    values (a string literal may be nearly as long as a body), estimated at the text's length
    plus `BYTES_PER_NODE` per AST node."""

    def __init__(
        self, schema: GraphQLSchema, limits: QueryLimits, max_count: int, max_bytes: int
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.rules = (
            *specified_rules,
            max_depth_rule(limits.max_depth, None),
            max_aliases_rule(limits.max_aliases),
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
        self.cache: BoundedLru[bytes, Prepared | None] = BoundedLru(max_count, max_bytes)

    def get(self, text: str) -> Prepared | None:
        digest = hashlib.sha256(text.encode()).digest()
        if digest in self.cache:
            return self.cache.get(digest)
        prepared, nodes = self._prepare(text, digest)
        size = INVALID_BYTES if prepared is None else len(text) + BYTES_PER_NODE * nodes
        self.cache.put(digest, prepared, size)
        return prepared

    def _prepare(self, text: str, digest: bytes) -> tuple[Prepared | None, int]:
        """The prepared document, or None if it is invalid; and how many AST nodes it has."""
        try:
            document = parse(text, no_location=True, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return None, 0
        if validate(self.schema, document, self.rules):
            return None, 0
        operations = tuple(
            definition
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        )
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        literals, uses, nodes = LongestLiteralList(), _VariableUses(), NodeCount()
        visit(document, ParallelVisitor([literals, uses, nodes]))
        longest = len(literals.longest.values) if literals.longest is not None else 0
        bindable = frozenset(uses.bound - uses.structural)
        sized = bool(bindable & uses.sizing)
        prepared = Prepared(digest, document, operations, fragments, longest, bindable, sized)
        return prepared, nodes.count


LISTS_BY_ARGUMENT_POSITIONS = frozenset({("nodes", "ids")})
"""Bindable positions whose value's length the node count reads (`cost.LISTS_BY_ARGUMENT`)."""

BINDABLE = frozenset(
    {
        ("account", "id"),
        ("contact", "id"),
        ("node", "id"),
        ("nodes", "ids"),
        ("*", "after"),
        ("*", "before"),
    }
)
"""(field, argument) positions whose value a plan binds as SQL parameters ("*": any field);
their handlers build the same SQL whatever the value, given whether there is one."""


class NodeCount(Visitor):
    """Counts the nodes of a document (what its parsed form costs in memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def enter(self, *_: object) -> None:
        self.count += 1


class _VariableUses(Visitor):
    """Where each variable is used: as a whole argument of a field at a bindable position,
    or anywhere else (a directive, inside a list or input object, another argument)."""

    def __init__(self) -> None:
        super().__init__()
        self.bound: set[str] = set()
        self.sizing: set[str] = set()
        self.structural: set[str] = set()
        self._scope: list[str | None] = []

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self._scope.append(node.name.value)

    def leave_field(self, node: FieldNode, *_: object) -> None:
        self._scope.pop()

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        self._scope.append(None)

    def leave_directive(self, node: DirectiveNode, *_: object) -> None:
        self._scope.pop()

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        if not isinstance(node.value, VariableNode):
            return
        name = node.value.name.value
        field = self._scope[-1] if self._scope else None
        argument = node.name.value
        if field is not None and ((field, argument) in BINDABLE or ("*", argument) in BINDABLE):
            self.bound.add(name)
            if (field, argument) in LISTS_BY_ARGUMENT_POSITIONS:
                self.sizing.add(name)
        else:
            self.structural.add(name)

    def enter_variable(self, node: VariableNode, key: object, parent: object, *_: object) -> None:
        if not isinstance(parent, ArgumentNode | VariableDefinitionNode):
            self.structural.add(node.name.value)
