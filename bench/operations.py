"""The operations of issue 8, as request bodies for clientgraph and for PostGraphile."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from clientgraph.ids import encode_id

from bench.seed import Seeded

DASHBOARD = """query Dashboard { accounts(first: 50, orderBy: {field: NAME, direction: ASC}) {
  totalCount pageInfo { hasNextPage endCursor }
  nodes { id name customerNumber type status tags
    owner { id name user { id email } }  teamMembers { id name }
    contacts { description roles contact { id fullName email phone } } } } }"""

ACCOUNT_PAGE = """query AccountPage($id: ID!) { account(id: $id) {
  id name customerNumber type status tags
  owner { id name user { id email } }  teamMembers { id name }
  contacts { description roles contact { id fullName email phone } }
  relatedAccounts { id name }
  history(first: 10) { nodes { action occurredAt changes { field from to } } } } }"""

CREATE_ACCOUNT = """mutation CreateAccount($input: CreateAccountInput!) {
  createAccount(input: $input) {
    account { id name version } userErrors { field code message } } }"""

ASSIGN_OWNER = """mutation AssignOwner($input: AssignClientOwnerInput!) {
  assignClientOwner(input: $input) {
    account { id owner { id name } version } userErrors { field code message } } }"""

TRANSFER = """mutation Transfer($input: TransferClientsInput!) {
  transferClients(input: $input) {
    transferredCount accounts { id owner { id } version } userErrors { field code message } } }"""

TRANSFER_LANES = 64
"""Pairs of owners `transferClients` moves books between, each request the next pair's: a
pair's next request (the way back) is sent 64 requests later, by when, at 16 clients, the one
before has long finished."""
TRANSFER_ACCOUNTS = 50
"""The accounts each transferClients moves (issue 17: "transferClients of 50 accounts")."""

WRITE_TARGETS = {"createAccount": 300.0, "assignClientOwner": 375.0, "transferClients": 60.0}
"""Issue 17's req/s for each mutation at 16 clients with 2 processes."""


@dataclass(frozen=True)
class Workload:
    """What one load run posts: a fixed body, or a template whose `__N__` is the request's
    number and whose other placeholders take turns through their lists (with a stride)."""

    name: str
    body: dict[str, Any] | None = None
    template: str | None = None
    choices: dict[str, tuple[list[str], int]] = field(default_factory=dict)
    expect: str | None = None
    """Text every good response contains (mutations: no user errors)."""

    def spec(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "template": self.template,
            "choices": {key: list(value) for key, value in self.choices.items()},
            "expect": self.expect,
        }


def reads(seeded: Seeded, peer_dir: Path | None) -> dict[str, tuple[Workload, Workload | None]]:
    """Per read operation: the clientgraph workload and PostGraphile's equivalent, if any."""
    firm, account = str(seeded.firm_id), seeded.detail_account_id
    ours = {
        "dashboard": Workload("dashboard", body={"query": DASHBOARD}),
        "account page": Workload(
            "account page",
            body={"query": ACCOUNT_PAGE, "variables": {"id": encode_id("Account", account)}},
        ),
    }
    theirs: dict[str, Workload | None] = {"dashboard": None, "account page": None}
    if peer_dir is not None:
        theirs["dashboard"] = Workload(
            "dashboard",
            body={
                "query": (peer_dir / "pgl_dashboard.graphql").read_text(),
                "variables": {"firmId": firm},
            },
        )
        theirs["account page"] = Workload(
            "account page",
            body={
                "query": (peer_dir / "pgl_account_detail.graphql").read_text(),
                "variables": {"firmId": firm, "id": str(account)},
            },
        )
    return {name: (ours[name], theirs[name]) for name in ours}


def mutations(
    seeded: Seeded, prefix: str, transfer_pairs: list[tuple[uuid.UUID, uuid.UUID]]
) -> list[Workload]:
    """createAccount (a new account per request, unique name and customer number, an owner in
    turn), assignClientOwner (accounts spread over the firm, owners in turn) and
    transferClients (request N moves the whole book of pair N mod P one way, request N + P
    moves it back, P the pairs of `transfer_pairs` (bench.seed.add_transfer_lanes), each
    first owner holding TRANSFER_ACCOUNTS accounts; a request that moves another number is an
    error).

    `prefix` keeps names and numbers unique across runs; new accounts sort after the seeded
    ones, so the dashboard's page stays the same."""
    owners = [encode_id("ClientOwner", owner) for owner in seeded.client_owner_ids]
    accounts = [encode_id("Account", account) for account in seeded.account_ids]
    new_account = {
        "name": f"Zz Bench New {prefix}-__N__",
        "customerNumber": f"9{prefix}__N__",
        "type": "COMPANY",
        "ownerId": "__OWNER__",
        "tags": ["new", "vip"],
    }
    create = orjson.dumps({"query": CREATE_ACCOUNT, "variables": {"input": new_account}})
    change = {"accountId": "__ACCOUNT__", "ownerId": "__OWNER__"}
    assign = orjson.dumps({"query": ASSIGN_OWNER, "variables": {"input": change}})
    no_user_errors = '"userErrors":[]'
    move = {"fromOwnerId": "__FROM__", "toOwnerId": "__TO__"}
    transfer = orjson.dumps({"query": TRANSFER, "variables": {"input": move}})
    lanes = len(transfer_pairs)
    ways = [(pair, turn) for turn in (0, 1) for pair in transfer_pairs]
    froms = [encode_id("ClientOwner", pair[turn]) for pair, turn in ways]
    tos = [encode_id("ClientOwner", pair[1 - turn]) for pair, turn in ways]
    assert len(froms) == 2 * lanes
    return [
        Workload(
            "createAccount",
            template=create.decode(),
            choices={"__OWNER__": (owners, 1)},
            expect=no_user_errors,
        ),
        Workload(
            "assignClientOwner",
            template=assign.decode(),
            choices={"__OWNER__": (owners, 1), "__ACCOUNT__": (accounts, 7919)},
            expect=no_user_errors,
        ),
        Workload(
            "transferClients",
            template=transfer.decode(),
            choices={"__FROM__": (froms, 1), "__TO__": (tos, 1)},
            expect=f'"transferredCount":{TRANSFER_ACCOUNTS},',
        ),
    ]
