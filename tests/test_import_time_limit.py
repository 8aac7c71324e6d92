"""Which requests may run for the import's time limit: a mutation that selects
importAccounts, however the document spells it (web/graphql_request.runs_mutation_field)."""

from __future__ import annotations

import pytest
from clientgraph.web.graphql_request import runs_mutation_field

IMPORT = "importAccounts(input: $input) { report { created } }"
HEAD = "mutation($input: ImportAccountsInput!)"
CREATE = 'createAccount(input: {name: "A"}) { account { id } }'


@pytest.mark.parametrize(
    ("document", "operation", "runs"),
    [
        pytest.param(f"{HEAD} {{ {IMPORT} }}", None, True, id="plain"),
        pytest.param(f"{HEAD} {{ done: {IMPORT} }}", None, True, id="aliased"),
        pytest.param(
            f"{HEAD} {{ ...Upload }} fragment Upload on Mutation {{ {IMPORT} }}",
            None,
            True,
            id="in-a-fragment",
        ),
        pytest.param(
            f"{HEAD} {{ ... on Mutation {{ {IMPORT} }} }}", None, True, id="in-an-inline-fragment"
        ),
        pytest.param(
            f"mutation Other {{ {CREATE} }} mutation Import($input: ImportAccountsInput!) "
            f"{{ {IMPORT} }}",
            "Other",
            False,
            id="another-operation-chosen",
        ),
        pytest.param("{ importAccounts }", None, False, id="a-query"),
        pytest.param(f"mutation {{ {CREATE} }}", None, False, id="another-mutation"),
        pytest.param("mutation { importAccounts(", None, False, id="unparsable"),
        pytest.param(
            "fragment A on Mutation { ...B } fragment B on Mutation { ...A } mutation { ...A }",
            None,
            False,
            id="fragments-in-a-cycle",
        ),
    ],
)
def test_only_a_mutation_selecting_import_accounts_has_the_imports_time_limit(
    document: str, operation: str | None, runs: bool
) -> None:
    payload = {"query": document, "operationName": operation}

    assert runs_mutation_field(payload, "importAccounts", max_tokens=5000) is runs
