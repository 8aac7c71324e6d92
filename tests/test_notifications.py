"""A user's notifications through the API, on every backend: `viewer.notifications`, its pages
and filter, `markNotificationsRead`, and what a notification names."""

from __future__ import annotations

from tests.register_support import (
    NODE,
    assign,
    notifications,
)
from tests.support import Api, errors_of

NOTIFICATION_TEXTS = "{ viewer { notifications { nodes { message account { name } } } } }"


async def test_notifications_come_newest_first_and_page_forward(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    for name in ("Acme", "Beta", "Gamma"):
        account = await api.create_account(name)
        await assign(api, account["id"], staff_id)

    first = await notifications(api, token, first=2)
    rest = await notifications(api, token, first=2, after=first["pageInfo"]["endCursor"])

    assert first["totalCount"] == 3
    assert [n["account"]["name"] for n in first["nodes"]] == ["Gamma", "Beta"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [n["account"]["name"] for n in rest["nodes"]] == ["Acme"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_marked_notifications_get_a_read_time_and_leave_the_unread_list(api: Api) -> None:
    staff_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    for name in ("Acme", "Beta"):
        account = await api.create_account(name)
        await assign(api, account["id"], staff_id)
    beta, acme = (await notifications(api, token))["nodes"]

    payload = await api.ok(
        "markNotificationsRead",
        {"ids": [acme["id"]]},
        "notifications { id readAt }",
        token,
    )

    (marked,) = payload["notifications"]
    assert marked["id"] == acme["id"]
    assert marked["readAt"] is not None
    unread = await notifications(api, token, unreadOnly=True)
    assert unread["totalCount"] == 1
    assert [n["id"] for n in unread["nodes"]] == [beta["id"]]
    every = (await notifications(api, token))["nodes"]
    assert [(n["id"], n["readAt"]) for n in every] == [
        (beta["id"], None),
        (acme["id"], marked["readAt"]),
    ]


async def test_marking_a_read_notification_again_keeps_its_read_time(api: Api) -> None:
    account = await api.create_account("Acme")
    staff_id, token = await api.staff()
    await assign(api, account["id"], staff_id)
    (notification,) = (await notifications(api, token))["nodes"]
    first = await api.ok(
        "markNotificationsRead", {"ids": [notification["id"]]}, "notifications { readAt }", token
    )

    again = await api.ok(
        "markNotificationsRead", {"ids": [notification["id"]]}, "notifications { readAt }", token
    )

    assert again["notifications"] == first["notifications"]


async def test_marking_another_users_notification_read_is_not_found(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    await assign(api, account["id"], sara_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [saras["id"]]}, "notifications { id }"
    )

    assert payload["notifications"] is None
    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]
    assert (await notifications(api, sara_token))["nodes"][0]["readAt"] is None


async def test_a_call_with_another_users_notification_marks_none_of_ones_own(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    bo_id, bo_token = await api.staff()
    await assign(api, account["id"], sara_id)
    await assign(api, account["id"], bo_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]
    (bos,) = (await notifications(api, bo_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead",
        {"ids": [saras["id"], bos["id"]]},
        "notifications { id }",
        sara_token,
    )

    assert errors_of(payload) == [(["ids", "1"], "NOT_FOUND")]
    assert (await notifications(api, sara_token, unreadOnly=True))["totalCount"] == 1
    assert (await notifications(api, bo_token, unreadOnly=True))["totalCount"] == 1


async def test_marking_another_firms_notification_read_is_not_found(
    api: Api, other_firm: Api
) -> None:
    foreign = await other_firm.create_account("Foreign AB")
    foreign_id, foreign_token = await other_firm.staff()
    await assign(other_firm, foreign["id"], foreign_id)
    (theirs,) = (await notifications(other_firm, foreign_token))["nodes"]

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [theirs["id"]]}, "notifications { id }"
    )

    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]
    assert (await notifications(other_firm, foreign_token))["nodes"][0]["readAt"] is None


async def test_marking_an_id_that_is_no_notification_read_is_not_found(api: Api) -> None:
    account = await api.create_account("Acme")

    payload = await api.mutate(
        "markNotificationsRead", {"ids": [account["id"]]}, "notifications { id }"
    )

    assert payload["notifications"] is None
    assert errors_of(payload) == [(["ids", "0"], "NOT_FOUND")]


async def test_another_users_notification_cannot_be_read_by_id(api: Api) -> None:
    account = await api.create_account("Acme")
    sara_id, sara_token = await api.staff()
    await assign(api, account["id"], sara_id)
    (saras,) = (await notifications(api, sara_token))["nodes"]

    assert (await api.data(NODE, {"id": saras["id"]}))["node"] is None
    assert (await api.data(NODE, {"id": saras["id"]}, sara_token))["node"] == {"id": saras["id"]}


async def test_unread_only_null_means_every_notification(api: Api) -> None:
    account = await api.create_account("Acme")
    user_id, token = await api.staff("VIEW_ALL_ACCOUNTS")
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})

    data = await api.data(
        "{ viewer { notifications(unreadOnly: null) { totalCount } } }", token=token
    )

    assert data["viewer"]["notifications"]["totalCount"] == 1


async def test_a_notification_does_not_name_an_account_its_reader_cannot_see(api: Api) -> None:
    account = await api.create_account("Hidden Secret AB")
    user_id, token = await api.staff()
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})

    data = await api.data(NOTIFICATION_TEXTS, token=token)

    assert data["viewer"]["notifications"]["nodes"] == [
        {"message": "You were assigned to an account you cannot see.", "account": None}
    ]


async def test_a_notification_names_the_account_as_it_is_called_now(api: Api) -> None:
    account = await api.create_account("Old Name AB")
    user_id, token = await api.staff("VIEW_ASSIGNED_ACCOUNTS")
    await api.ok("assignTeamMember", {"accountId": account["id"], "userId": user_id})
    await api.ok("updateAccount", {"accountId": account["id"], "name": "New Name AB"})

    data = await api.data(NOTIFICATION_TEXTS, token=token)

    assert data["viewer"]["notifications"]["nodes"] == [
        {"message": "You were assigned to New Name AB.", "account": {"name": "New Name AB"}}
    ]
