"""Races on the customer register: parallel unlinks and deletes of an account's contacts,
team assignments against each other and against deactivation, optimistic updates with one
expected version, custom field writes, and contact creation against account deletion. Each
request must end in a payload (never a 500 or a surfaced deadlock) and the state read back
through the API must be one a serial order of the requests could have produced."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.support import Api, new_contact

ROUNDS = 5
PARALLEL = 6

ACCOUNT = """
query($id: ID!) {
  account(id: $id) {
    id name status version
    teamMembers { id }
    contacts { contact { id } }
    history(first: 100) { totalCount nodes { action changes { field from to } } }
  }
}
"""
CONTACT = """
query($id: ID!) {
  contact(id: $id) {
    id
    accounts { account { id } }
    history(first: 100) { nodes { action changes { field from to } } }
  }
}
"""
CONTACTS = "query($search: String) { contacts(filter: {search: $search}) { totalCount } }"
NOTIFICATIONS = """
{ viewer { notifications(first: 100) { totalCount nodes { kind account { id } } } } }
"""


async def send(api: Api, name: str, input_: dict[str, Any], selection: str = "") -> dict[str, Any]:
    """Run mutation `name`; its payload. Any top-level error (an INTERNAL_SERVER_ERROR above
    all: a deadlock, a constraint violation or a serialization failure that reached the
    client) fails the test with the error shown."""
    input_type = name[0].upper() + name[1:] + "Input"
    query = (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) "
        f"{{ {selection} userErrors {{ field code message }} }} }}"
    )
    body = await api.execute(query, {"input": input_})
    errors = body.get("errors") or []
    internal = [
        e for e in errors if (e.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]
    assert internal == [], f"{name} answered INTERNAL_SERVER_ERROR: {internal}"
    assert errors == [], f"{name} answered top-level errors: {errors}"
    return body["data"][name]


async def race(round_: int, *requests: Any) -> list[dict[str, Any]]:
    """Run the requests at once; on odd rounds they are sent in reverse order, so each side gets
    a turn at starting first. The payloads come back in the order given."""
    order = list(range(len(requests)))
    if round_ % 2:
        order.reverse()
    results = await asyncio.gather(*(requests[index] for index in order))
    payloads: list[dict[str, Any]] = [{}] * len(requests)
    for index, payload in zip(order, results, strict=True):
        payloads[index] = payload
    return payloads


def codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def read_account(api: Api, account_id: str) -> dict[str, Any] | None:
    return (await api.data(ACCOUNT, {"id": account_id}))["account"]


async def read_contact(api: Api, contact_id: str) -> dict[str, Any] | None:
    return (await api.data(CONTACT, {"id": contact_id}))["contact"]


def contact_ids(account: dict[str, Any]) -> set[str]:
    return {link["contact"]["id"] for link in account["contacts"]}


async def account_with_two_contacts(api: Api, label: str) -> tuple[str, str, str]:
    account = (await api.create_account(f"Account {label}"))["id"]
    first = await new_contact(api, account, last=f"First {label}")
    second = await new_contact(api, account, last=f"Second {label}")
    assert contact_ids(await read_account(api, account) or {}) == {first, second}
    return account, first, second


# --- 1. unlink both contacts at once ----------------------------------------------------------


async def test_parallel_unlinks_of_both_contacts_leave_exactly_one_contact(api: Api) -> None:
    for round_ in range(ROUNDS):
        account, first, second = await account_with_two_contacts(api, f"unlink {round_}")

        payloads = await race(
            round_,
            send(api, "unlinkContact", {"accountId": account, "contactId": first}),
            send(api, "unlinkContact", {"accountId": account, "contactId": second}),
        )

        outcomes = sorted(tuple(codes(payload)) for payload in payloads)
        assert outcomes == [(), ("LAST_CONTACT",)], (round_, payloads)
        refused = first if codes(payloads[0]) else second
        state = await read_account(api, account)
        assert state is not None
        assert contact_ids(state) == {refused}, (round_, payloads, state["contacts"])
        unlinked = [
            e for e in state["history"]["nodes"] if e["action"] == "account.contact_unlinked"
        ]
        assert len(unlinked) == 1, (round_, unlinked)


# --- 2. delete one contact while unlinking the other --------------------------------------------


async def test_deleting_one_contact_while_unlinking_the_other_never_empties_the_account(
    api: Api,
) -> None:
    for round_ in range(ROUNDS):
        account, first, second = await account_with_two_contacts(api, f"delete {round_}")

        deleted, unlinked = await race(
            round_,
            send(api, "deleteContact", {"contactId": first}, "deletedContactId"),
            send(api, "unlinkContact", {"accountId": account, "contactId": second}),
        )

        outcomes = sorted(tuple(codes(payload)) for payload in (deleted, unlinked))
        assert outcomes == [(), ("LAST_CONTACT",)], (round_, deleted, unlinked)
        state = await read_account(api, account)
        assert state is not None
        if codes(deleted) == []:
            assert deleted["deletedContactId"] == first
            assert await read_contact(api, first) is None
            assert contact_ids(state) == {second}, (round_, state["contacts"])
        else:
            assert deleted["userErrors"][0]["field"] == ["contactId"]
            assert deleted["deletedContactId"] is None
            assert await read_contact(api, first) is not None
            assert contact_ids(state) == {first}, (round_, state["contacts"])
            still_there = await read_contact(api, second)
            assert still_there is not None and still_there["accounts"] == []


# --- 3. one user assigned six times at once -----------------------------------------------------


async def test_parallel_assignments_of_one_user_make_one_member_and_one_notification(
    api: Api,
) -> None:
    account = (await api.create_account("Busy Account"))["id"]
    staff_id, staff_token = await api.staff(name="Sara Staff")
    assignment = {"accountId": account, "userId": staff_id}

    payloads = await asyncio.gather(
        *(send(api, "assignTeamMember", assignment, "account { id }") for _ in range(PARALLEL))
    )

    assert [codes(payload) for payload in payloads] == [[]] * PARALLEL, payloads
    state = await read_account(api, account)
    assert state is not None
    assert state["teamMembers"] == [{"id": staff_id}]
    added = [e for e in state["history"]["nodes"] if e["action"] == "account.team_member_added"]
    assert len(added) == 1, added
    found = (await api.data(NOTIFICATIONS, token=staff_token))["viewer"]["notifications"]
    kinds = [node["kind"] for node in found["nodes"]]
    assert kinds.count("account.assigned") == 1, found
    assert found["totalCount"] == 1, found


# --- 4. assignments racing deactivation ---------------------------------------------------------


async def test_assignments_racing_deactivation_are_either_before_it_or_refused(api: Api) -> None:
    for round_ in range(ROUNDS):
        account = (await api.create_account(f"Closing {round_}"))["id"]
        staff = [await api.staff(name=f"Staff {round_}.{index}") for index in range(3)]

        *assigned, deactivated = await race(
            round_,
            *(
                send(api, "assignTeamMember", {"accountId": account, "userId": user_id})
                for user_id, _ in staff
            ),
            send(api, "deactivateAccount", {"accountId": account}, "account { status }"),
        )

        assert codes(deactivated) == [], (round_, deactivated)
        state = await read_account(api, account)
        assert state is not None
        assert state["status"] == "INACTIVE"
        members = {member["id"] for member in state["teamMembers"]}
        added = set()
        for (user_id, token), payload in zip(staff, assigned, strict=True):
            assert codes(payload) in ([], ["ACCOUNT_INACTIVE"]), (round_, payload)
            if codes(payload) == []:
                added.add(user_id)
            else:
                assert payload["userErrors"][0]["field"] == ["accountId"]
            found = (await api.data(NOTIFICATIONS, token=token))["viewer"]["notifications"]
            expected = 1 if user_id in added else 0
            assert found["totalCount"] == expected, (round_, user_id, found)
            assert [node["kind"] for node in found["nodes"]] == ["account.assigned"] * expected
        assert members == added, (round_, members, added, assigned)
        events = [event["action"] for event in state["history"]["nodes"]]
        assert events[0] == "account.deactivated", (round_, events)
        assert events.count("account.deactivated") == 1
        assert events.count("account.team_member_added") == len(added), (round_, events)


# --- 5. optimistic updates with one expected version --------------------------------------------


async def test_parallel_updates_with_one_expected_version_let_exactly_one_win(api: Api) -> None:
    created = await api.create_account("Versioned")
    account, version = created["id"], created["version"]

    payloads = await asyncio.gather(
        *(
            send(
                api,
                "updateAccount",
                {"accountId": account, "expectedVersion": version, "name": f"Name {index}"},
                "account { name version }",
            )
            for index in range(PARALLEL)
        )
    )

    winners = [index for index, payload in enumerate(payloads) if codes(payload) == []]
    assert len(winners) == 1, payloads
    losers = [payload for index, payload in enumerate(payloads) if index not in winners]
    assert [codes(payload) for payload in losers] == [["STALE_VERSION"]] * (PARALLEL - 1)
    assert all(p["userErrors"][0]["field"] == ["expectedVersion"] for p in losers)
    state = await read_account(api, account)
    assert state is not None
    assert state["name"] == f"Name {winners[0]}"
    assert state["version"] == version + 1
    updates = [e for e in state["history"]["nodes"] if e["action"] == "account.updated"]
    assert len(updates) == 1, updates
    assert updates[0]["changes"] == [
        {"field": "name", "from": "Versioned", "to": f"Name {winners[0]}"}
    ]


# --- 6. parallel values for one custom field ----------------------------------------------------


async def test_parallel_custom_field_values_leave_one_of_them_and_a_chained_history(
    api: Api,
) -> None:
    await api.ok(
        "defineCustomField",
        {"entity": "ACCOUNT", "key": "headcount", "label": "Headcount", "type": "NUMBER"},
    )
    account = (await api.create_account("Counted"))["id"]
    values = [str(10 * (index + 1)) for index in range(PARALLEL)]

    payloads = await asyncio.gather(
        *(
            send(
                api,
                "setCustomFieldValues",
                {"accountId": account, "values": [{"key": "headcount", "value": value}]},
                "account { id }",
            )
            for value in values
        )
    )

    assert [codes(payload) for payload in payloads] == [[]] * PARALLEL, payloads
    fields = await api.data(
        "query($id: ID!) { account(id: $id) { customFields { key value } } }", {"id": account}
    )
    final = [f["value"] for f in fields["account"]["customFields"] if f["key"] == "headcount"]
    assert len(final) == 1 and final[0] in values, final
    state = await read_account(api, account)
    assert state is not None
    changed = [
        event["changes"]
        for event in reversed(state["history"]["nodes"])
        if event["action"] == "account.custom_fields_changed"
    ]
    # The values are distinct and the field starts empty, so no write is a no-op.
    assert len(changed) == PARALLEL, changed
    previous = None
    for changes in changed:
        assert len(changes) == 1 and changes[0]["field"] == "customFields.headcount", changes
        assert changes[0]["from"] == previous, changed
        previous = changes[0]["to"]
    assert previous == final[0]
    assert sorted(changes[0]["to"] for changes in changed) == sorted(values)


# --- 7. a contact created while its account is deleted ------------------------------------------


async def test_a_contact_created_while_its_account_is_deleted_is_linked_or_not_created(
    api: Api,
) -> None:
    for round_ in range(ROUNDS):
        account = (await api.create_account(f"Doomed {round_}"))["id"]
        last_name = f"Racer{uuid.uuid4().hex[:8]}"

        created, deleted = await race(
            round_,
            send(
                api,
                "createContact",
                {"firstName": "Ann", "lastName": last_name, "links": [{"accountId": account}]},
                "contact { id }",
            ),
            send(api, "deleteAccount", {"accountId": account}, "deletedAccountId"),
        )

        assert codes(deleted) == [], (round_, deleted)
        assert deleted["deletedAccountId"] == account
        assert await read_account(api, account) is None
        count = (await api.data(CONTACTS, {"search": last_name}))["contacts"]["totalCount"]
        if codes(created) == []:
            assert count == 1, (round_, created)
            contact = await read_contact(api, created["contact"]["id"])
            assert contact is not None
            linked = [e for e in contact["history"]["nodes"] if e["action"] == "contact.linked"]
            assert len(linked) == 1, (round_, contact["history"])
            assert contact["accounts"] == [], (round_, contact["accounts"])
        else:
            assert created["userErrors"] == [
                {
                    "field": ["links", "0", "accountId"],
                    "code": "NOT_FOUND",
                    "message": created["userErrors"][0]["message"],
                }
            ], (round_, created)
            assert created["contact"] is None
            assert count == 0, (round_, created)
