"""The README's GraphQL examples are what new users paste into GraphiQL first: each block must
be a valid document against the schema, and a block with several operations must name them
all (two anonymous operations are a validation error)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clientgraph.schema.schema import build_schema
from graphql import OperationDefinitionNode, parse, validate

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S)
SCHEMA = build_schema()._schema


def test_the_readme_has_graphql_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_is_a_valid_document(block: str) -> None:
    errors = validate(SCHEMA, parse(block))
    assert errors == [], [error.message for error in errors]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_a_readme_example_with_several_operations_names_each(block: str) -> None:
    operations = [
        node for node in parse(block).definitions if isinstance(node, OperationDefinitionNode)
    ]
    if len(operations) > 1:
        assert all(operation.name is not None for operation in operations)
