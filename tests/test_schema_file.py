from pathlib import Path

from clientgraph.schema.schema import build_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_graphql_equals_export_schema_output() -> None:
    assert SCHEMA_FILE.read_text() == build_schema().as_str() + "\n", (
        "schema.graphql is stale: run `make schema`"
    )
