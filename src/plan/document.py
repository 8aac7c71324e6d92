"""Parsed and validated documents, cached by their text: parsing and validation run once per
document, with the limits Strawberry's execution applies (tokens, depth, aliases)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from clientgraph.schema.extensions import LongestLiteralList, QueryLimits
from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
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


class Documents:
    """A bounded LRU of prepared documents by their text's digest; an invalid document is
    remembered as None. Documents are parsed without locations, so an entry keeps no text (a
    document of comments is as long as a body may be, and a cache of a thousand of them must
    stay small)."""

    def __init__(self, schema: GraphQLSchema, limits: QueryLimits, size: int = 1000) -> None:
        self.schema = schema
        self.limits = limits
        self.size = size
        self.rules = (
            *specified_rules,
            max_depth_rule(limits.max_depth, None),
            max_aliases_rule(limits.max_aliases),
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
        self._cache: OrderedDict[bytes, Prepared | None] = OrderedDict()

    def get(self, text: str) -> Prepared | None:
        digest = hashlib.sha256(text.encode()).digest()
        if digest in self._cache:
            self._cache.move_to_end(digest)
            return self._cache[digest]
        prepared = self._prepare(text, digest)
        self._cache[digest] = prepared
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return prepared

    def _prepare(self, text: str, digest: bytes) -> Prepared | None:
        try:
            document = parse(text, no_location=True, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return None
        if validate(self.schema, document, self.rules):
            return None
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
        literals = LongestLiteralList()
        visit(document, literals)
        longest = len(literals.longest.values) if literals.longest is not None else 0
        uses = _VariableUses()
        visit(document, uses)
        bindable = frozenset(uses.bound - uses.structural)
        sized = bool(bindable & uses.sizing)
        return Prepared(digest, document, operations, fragments, longest, bindable, sized)


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
