"""Conformance: the seed's Commands Platform reference, endpoint by endpoint, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chalicelib.dailybot.events import EVENT_NAMES
from tests.emulator.emulator_process import as_user
from tests.emulator.emulator_world import (
    ACME,
    ACME_COMMAND,
    ACME_KEY,
    ACME_NOSCOPE_KEY,
    GLOBEX,
    GLOBEX_COMMAND,
    GLOBEX_KEY,
    JANE,
    JOHN,
    KIM,
)

NOT_AUTHENTICATED = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN = {"detail": "Invalid or expired exchange token.", "code": "invalid_token"}
MISSING_TOKEN = {"detail": "You should specify a valid exchange token", "code": "missing_token"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
MISSING_CONTEXT = {
    "detail": "You must provide either a valid exchange token or a namespace parameter",
    "code": "missing_context",
}

ENDPOINTS = [
    ("POST", "/v1/auth/fetch-command-exchange-token/"),
    ("POST", "/v1/platform/scheduling/"),
    ("GET", f"/v1/platform/scheduling/{uuid.uuid4()}/"),
    ("PUT", f"/v1/platform/scheduling/{uuid.uuid4()}/"),
    ("DELETE", f"/v1/platform/scheduling/{uuid.uuid4()}/"),
    ("POST", "/v1/platform/storage/"),
    ("POST", "/v1/platform/event-subscription/"),
    ("DELETE", "/v1/platform/event-subscription/"),
    ("GET", "/v1/platform/activity/"),
    ("POST", "/v1/platform/activity/"),
    ("POST", "/v1/send-message/"),
]


@pytest.fixture
def http(emulator: Any) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client


def fetch_token(http: httpx.Client, user: str = JANE, key: str = ACME_KEY) -> str:
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": key},
        json={"user_uuid": user},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def create_schedule(http: httpx.Client, headers: dict[str, str], **fields: Any) -> str:
    response = http.post(
        "/v1/platform/scheduling/",
        headers=headers,
        json={"name": "Daily sync", "cron": "0 9 * * 1-5", **fields},
    )
    assert response.status_code == 200, response.text
    schedule_uuid: str = response.json()["uuid"]
    return schedule_uuid


# --- API key (every endpoint) ------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_a_missing_api_key(http: httpx.Client, method: str, path: str):
    response = http.request(method, path, json={})
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_an_unknown_api_key(http: httpx.Client, method: str, path: str):
    response = http.request(method, path, headers={"X-API-KEY": "nope"}, json={})
    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


@pytest.mark.parametrize(("method", "path"), ENDPOINTS[1:])
def test_every_endpoint_refuses_an_unknown_exchange_token(
    http: httpx.Client, method: str, path: str
):
    headers = {"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": "not-a-token"}
    response = http.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_a_token_of_another_organization_is_refused(http: httpx.Client):
    globex_token = fetch_token(http, KIM, GLOBEX_KEY)
    response = http.get(
        "/v1/platform/activity/", headers={"X-API-KEY": ACME_KEY, "X-EXCHANGE-TOKEN": globex_token}
    )
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# --- POST /v1/auth/fetch-command-exchange-token/ ------------------------------------------


def test_fetch_token_answers_a_token(http: httpx.Client):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": ACME_KEY},
        json={"user_uuid": JOHN},
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token"}
    assert isinstance(body["token"], str)
    assert len(body["token"]) >= 32


def test_fetch_token_with_user_context(http: httpx.Client):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": ACME_KEY},
        json={"user_uuid": JOHN, "include_user_context": True},
    )
    assert response.status_code == 200
    assert response.json()["user_context"] == {
        "uuid": JOHN,
        "full_name": "John Roe",
        "timezone": "America/New_York",
    }


def test_fetch_token_needs_the_scope(http: httpx.Client):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": ACME_NOSCOPE_KEY},
        json={"user_uuid": JANE},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_fetch_token_for_an_unknown_user_is_406(http: httpx.Client):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": ACME_KEY},
        json={"user_uuid": str(uuid.uuid4())},
    )
    assert response.status_code == 406
    assert response.json() == {"detail": 'Could not find the user related to "user_uuid"'}


def test_fetch_token_for_another_organization_on_a_private_command_is_406(http: httpx.Client):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/",
        headers={"X-API-KEY": ACME_KEY},
        json={"user_uuid": KIM},
    )
    assert response.status_code == 406
    assert response.json() == {
        "detail": "Command is not Public and cannot request exchange tokens of non-same-org users"
    }


@pytest.mark.parametrize("body", [{}, {"user_uuid": "not-a-uuid"}, {"user_uuid": 7}])
def test_fetch_token_validates_user_uuid(http: httpx.Client, body: dict[str, Any]):
    response = http.post(
        "/v1/auth/fetch-command-exchange-token/", headers={"X-API-KEY": ACME_KEY}, json=body
    )
    assert response.status_code == 400
    assert "details" in response.json()


# --- Scheduling ---------------------------------------------------------------------------


def test_create_schedule_with_a_token_and_read_its_defaults(http: httpx.Client):
    headers = as_user(http)
    response = http.post(
        "/v1/platform/scheduling/",
        headers=headers,
        json={"name": "Daily sync", "cron": "0 9 * * 1-5", "payload": {}},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"uuid"}
    schedule_uuid = response.json()["uuid"]
    got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers)
    assert got.status_code == 200
    assert got.json() == {
        "uuid": schedule_uuid,
        "name": "Daily sync",
        "timezone_type": "organization_timezone",
        "is_active": True,
        "cron": "0 9 * * 1-5",
        "execution_frequency": 0,
        "repeats": -1,
        "payload": {},
        "callback_url": "http://127.0.0.1:8000/dailybot",
    }


def test_create_schedule_with_command_uuid_and_no_token(http: httpx.Client):
    response = http.post(
        "/v1/platform/scheduling/",
        headers={"X-API-KEY": ACME_KEY},
        json={"name": "Nightly", "command_uuid": ACME_COMMAND, "execution_frequency": 30},
    )
    assert response.status_code == 200
    schedule_uuid = response.json()["uuid"]
    got = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=as_user(http))
    assert got.json()["execution_frequency"] == 30
    assert got.json()["cron"] is None


def test_create_schedule_without_token_or_command(http: httpx.Client):
    response = http.post(
        "/v1/platform/scheduling/",
        headers={"X-API-KEY": ACME_KEY},
        json={"name": "Daily sync", "cron": "0 9 * * 1-5"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "You should specify an exchange token or valid command",
        "code": "missing_token_or_command",
    }


@pytest.mark.parametrize("command_uuid", [GLOBEX_COMMAND, str(uuid.uuid4()), "garbage"])
def test_create_schedule_with_a_foreign_or_unknown_command(http: httpx.Client, command_uuid: str):
    response = http.post(
        "/v1/platform/scheduling/",
        headers={"X-API-KEY": ACME_KEY},
        json={"name": "x", "cron": "0 9 * * *", "command_uuid": command_uuid},
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Command is not valid. It must be owned by the same API Key organization owner",
        "code": "invalid_command_specified",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"cron": "0 9 * * *"},
        {"name": "", "cron": "0 9 * * *"},
        {"name": "x", "cron": "not a cron"},
        {"name": "x", "cron": "0 9 * * * *"},
        {"name": "x", "cron": "61 9 * * *"},
        {"name": "x"},
        {"name": "x", "cron": "0 9 * * *", "repeats": -2},
        {"name": "x", "cron": "0 9 * * *", "repeats": 0},
        {"name": "x", "cron": "0 9 * * *", "execution_frequency": -1},
        {"name": "x", "cron": "0 9 * * *", "payload": []},
        {"name": "x", "cron": "0 9 * * *", "timezone_type": "moon_timezone"},
        {"name": "x", "cron": "0 9 * * *", "is_owned_by_user": "yes"},
    ],
)
def test_create_schedule_validation_errors(http: httpx.Client, body: dict[str, Any]):
    response = http.post("/v1/platform/scheduling/", headers=as_user(http), json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


def test_update_schedule_changes_every_field(http: httpx.Client):
    headers = as_user(http)
    schedule_uuid = create_schedule(http, headers)
    changes = {
        "name": "Weekly sync",
        "timezone_type": "user_timezone",
        "is_active": False,
        "cron": "30 8 * * 1",
        "execution_frequency": 15,
        "repeats": 4,
        "payload": {"team": "core"},
        "callback_url": "http://127.0.0.1:9/elsewhere",
    }
    response = http.put(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json=changes)
    assert response.status_code == 200
    assert response.json() == {"uuid": schedule_uuid, **changes}
    again = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers)
    assert again.json() == response.json()


def test_update_schedule_with_an_empty_body_changes_nothing(http: httpx.Client):
    headers = as_user(http)
    schedule_uuid = create_schedule(http, headers)
    before = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers).json()
    response = http.put(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json={})
    assert response.status_code == 200
    assert response.json() == before


def test_update_schedule_validates(http: httpx.Client):
    headers = as_user(http)
    schedule_uuid = create_schedule(http, headers)
    for body in (
        {"cron": "nope"},
        {"is_active": "no"},
        {"callback_url": "ftp://x"},
        {"cron": None},
        {"name": None},
    ):
        response = http.put(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json=body)
        assert response.status_code == 400, body
        assert "details" in response.json()


def test_delete_schedule_is_204_then_not_found(http: httpx.Client):
    headers = as_user(http)
    schedule_uuid = create_schedule(http, headers)
    response = http.delete(f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    for method in ("GET", "PUT", "DELETE"):
        again = http.request(
            method, f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json={}
        )
        assert again.status_code == 404
        assert again.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_or_malformed_schedule_is_not_found(http: httpx.Client, method: str):
    headers = as_user(http)
    for schedule_uuid in (uuid.uuid4(), "not-a-uuid"):
        response = http.request(
            method, f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json={}
        )
        assert response.status_code == 404
        assert response.json() == NOT_FOUND


def test_another_commands_schedule_is_not_found(http: httpx.Client):
    schedule_uuid = create_schedule(http, as_user(http))
    globex = as_user(http, KIM, GLOBEX_KEY)
    response = http.get(f"/v1/platform/scheduling/{schedule_uuid}/", headers=globex)
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_schedule_detail_needs_a_token(http: httpx.Client, method: str):
    schedule_uuid = create_schedule(http, as_user(http))
    response = http.request(
        method,
        f"/v1/platform/scheduling/{schedule_uuid}/",
        headers={"X-API-KEY": ACME_KEY},
        json={},
    )
    assert response.status_code == 400
    assert response.json() == MISSING_TOKEN


# --- Storage ------------------------------------------------------------------------------


def storage(http: httpx.Client, headers: dict[str, str], **body: Any) -> httpx.Response:
    return http.post("/v1/platform/storage/", headers=headers, json=body)


def test_storage_get_set_delete_with_a_token(http: httpx.Client):
    headers = as_user(http)
    key = f"prefs-{uuid.uuid4()}"
    assert storage(http, headers, op="get", params={"key": key}).json() == {key: None}
    value = {"color": "blue", "sizes": [1, 2.5, None], "on": True}
    response = storage(http, headers, op="set", params={"key": key, "value": value})
    assert response.status_code == 200
    assert response.json() == {}
    got = storage(http, headers, op="get", params={"key": key})
    assert got.status_code == 200
    assert got.json() == {key: value}
    deleted = storage(http, headers, op="delete", params={"key": key})
    assert deleted.status_code == 200
    assert deleted.json() == {}
    assert storage(http, headers, op="get", params={"key": key}).json() == {key: None}


@pytest.mark.parametrize("value", ["text", 42, 1.5, [1, "two"], None, False])
def test_storage_values_are_any_json(http: httpx.Client, value: Any):
    headers = as_user(http)
    storage(http, headers, op="set", params={"key": "any", "value": value})
    assert storage(http, headers, op="get", params={"key": "any"}).json() == {"any": value}


def test_token_storage_is_the_commands_and_shared_by_its_users(http: httpx.Client):
    storage(http, as_user(http, JANE), op="set", params={"key": "shared", "value": 1})
    john = storage(http, as_user(http, JOHN), op="get", params={"key": "shared"})
    assert john.json() == {"shared": 1}
    kim = storage(http, as_user(http, KIM, GLOBEX_KEY), op="get", params={"key": "shared"})
    assert kim.json() == {"shared": None}


def test_namespace_storage_is_scoped_to_the_keys_organization(http: httpx.Client):
    acme = {"X-API-KEY": ACME_KEY}
    globex = {"X-API-KEY": GLOBEX_KEY}
    storage(http, acme, op="set", namespace="team", params={"key": "k", "value": "acme"})
    storage(http, globex, op="set", namespace="team", params={"key": "k", "value": "globex"})
    assert storage(http, acme, op="get", namespace="team", params={"key": "k"}).json() == {
        "k": "acme"
    }
    assert storage(http, globex, op="get", namespace="team", params={"key": "k"}).json() == {
        "k": "globex"
    }
    assert storage(http, acme, op="get", namespace="other", params={"key": "k"}).json() == {
        "k": None
    }


def test_a_namespace_wins_over_a_token(http: httpx.Client):
    headers = as_user(http)
    storage(http, headers, op="set", params={"key": "scope", "value": "command"})
    storage(http, headers, op="set", namespace="ns", params={"key": "scope", "value": "ns"})
    assert storage(http, headers, op="get", params={"key": "scope"}).json() == {"scope": "command"}
    plain_key = {"X-API-KEY": ACME_KEY}
    assert storage(http, plain_key, op="get", namespace="ns", params={"key": "scope"}).json() == {
        "scope": "ns"
    }


def test_storage_without_token_or_namespace(http: httpx.Client):
    response = storage(http, {"X-API-KEY": ACME_KEY}, op="get", params={"key": "k"})
    assert response.status_code == 400
    assert response.json() == MISSING_CONTEXT


@pytest.mark.parametrize(
    "body",
    [
        {"op": "drop", "params": {"key": "k"}},
        {"params": {"key": "k"}},
        {"op": "get"},
        {"op": "get", "params": "k"},
        {"op": "get", "params": {}},
        {"op": "get", "params": {"key": ""}},
        {"op": "get", "params": {"key": 5}},
        {"op": "set", "params": {"key": "k"}},
        {"op": "set", "params": {"key": "k", "value": "x" * (64 * 1024)}},
    ],
)
def test_storage_validation_errors(http: httpx.Client, body: dict[str, Any]):
    response = storage(http, as_user(http), **body)
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


def test_storage_accepts_a_value_just_under_64_kib(http: httpx.Client):
    value = "x" * (64 * 1024 - 2)  # plus two quotes is exactly 64 KiB of JSON
    response = storage(http, as_user(http), op="set", params={"key": "big", "value": value})
    assert response.status_code == 200


# --- Event subscription -------------------------------------------------------------------


def test_register_hook_answers_an_integer_uuid_kept_on_reregistration(http: httpx.Client):
    headers = as_user(http, KIM, GLOBEX_KEY)
    first = http.post(
        "/v1/platform/event-subscription/",
        headers=headers,
        json={"subscriptions": ["kudos.posted"]},
    )
    assert first.status_code == 200
    hook_uuid = first.json()["hook_uuid"]
    assert isinstance(hook_uuid, int)
    second = http.post(
        "/v1/platform/event-subscription/",
        headers=headers,
        json={"subscriptions": ["FORMS_RESPONSE_CREATED"], "subscribed_objects": ["form-1"]},
    )
    assert second.json() == {"hook_uuid": hook_uuid}
    removed = http.delete("/v1/platform/event-subscription/", headers=headers)
    assert removed.status_code == 200
    assert removed.content == b""
    third = http.post(
        "/v1/platform/event-subscription/",
        headers=headers,
        json={"subscriptions": ["kudos.posted"]},
    )
    assert third.json()["hook_uuid"] != hook_uuid


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"subscriptions": []},
        {"subscriptions": "kudos.posted"},
        {"subscriptions": ["kudos.sent"]},
        {"subscriptions": [1]},
        {"subscriptions": ["kudos.posted"], "subscribed_objects": "x"},
    ],
)
def test_register_hook_validation_errors(http: httpx.Client, body: dict[str, Any]):
    response = http.post("/v1/platform/event-subscription/", headers=as_user(http), json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


def test_hook_endpoints_need_a_token(http: httpx.Client):
    headers = {"X-API-KEY": ACME_KEY}
    register = http.post(
        "/v1/platform/event-subscription/",
        headers=headers,
        json={"subscriptions": ["kudos.posted"]},
    )
    assert register.status_code == 400
    assert register.json() == MISSING_TOKEN
    unregister = http.delete("/v1/platform/event-subscription/", headers=headers)
    assert unregister.status_code == 400
    assert unregister.json() == MISSING_TOKEN


# --- Activity -----------------------------------------------------------------------------


# The seed's shape of an activity record, in both the create answer and the list.
ACTIVITY_RECORD_FIELDS = {
    "command",
    "organization",
    "user",
    "category",
    "action",
    "label",
    "metadata",
    "created_at",
}


def test_activity_create_and_list_newest_first(http: httpx.Client):
    headers = as_user(http, JOHN)
    first = http.post(
        "/v1/platform/activity/", headers=headers, json={"category": "usage", "action": "triggered"}
    )
    assert first.status_code == 201
    record = first.json()
    assert set(record) == ACTIVITY_RECORD_FIELDS
    assert record["command"] == ACME_COMMAND
    assert record["organization"] == ACME
    assert record["user"] == JOHN
    assert record["label"] is None
    assert record["metadata"] == {}
    assert record["created_at"].endswith("Z")
    second = http.post(
        "/v1/platform/activity/",
        headers=headers,
        json={
            "category": "usage",
            "action": "saved",
            "label": "color",
            "metadata": {"n": 1},
            "user_uuid": JANE,
        },
    )
    assert second.status_code == 201
    assert second.json()["user"] == JANE
    listed = http.get("/v1/platform/activity/", headers=headers)
    assert listed.status_code == 200
    records = listed.json()
    assert records[0] == second.json()
    assert records[1] == first.json()


def test_activity_is_listed_per_command(http: httpx.Client):
    globex = as_user(http, KIM, GLOBEX_KEY)
    http.post(
        "/v1/platform/activity/", headers=globex, json={"category": "globex", "action": "only"}
    )
    acme = http.get("/v1/platform/activity/", headers=as_user(http)).json()
    assert all(r["command"] == ACME_COMMAND for r in acme)
    assert all(r["category"] != "globex" for r in acme)


@pytest.mark.parametrize(
    "body",
    [
        {"action": "x"},
        {"category": "x"},
        {"category": "", "action": "x"},
        {"category": "x", "action": "y", "metadata": [1]},
        {"category": "x", "action": "y", "user_uuid": KIM},
        {"category": "x", "action": "y", "user_uuid": "nobody"},
    ],
)
def test_activity_validation_errors(http: httpx.Client, body: dict[str, Any]):
    response = http.post("/v1/platform/activity/", headers=as_user(http), json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_activity_needs_a_token(http: httpx.Client, method: str):
    response = http.request(
        method,
        "/v1/platform/activity/",
        headers={"X-API-KEY": ACME_KEY},
        json={"category": "x", "action": "y"},
    )
    assert response.status_code == 400
    assert response.json() == MISSING_TOKEN


# --- Send message -------------------------------------------------------------------------


def test_send_message_is_recorded(http: httpx.Client):
    token = fetch_token(http, JOHN)
    text = f"Done: {uuid.uuid4()}"
    response = http.post(
        "/v1/send-message/",
        headers={"X-API-KEY": ACME_KEY},
        json={"message": text, "exchange_token": token},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "sent"
    messages = http.get("/_emulator/messages").json()
    mine = [m for m in messages if m["message"] == text]
    assert len(mine) == 1
    assert mine[0]["target_users"] == [JOHN]
    assert mine[0]["user_uuid"] == JOHN
    assert "exchange_token" not in mine[0]


@pytest.mark.parametrize(
    "body", [{}, {"message": ""}, {"message": "hi"}, {"message": "hi", "target_users": "x"}]
)
def test_send_message_validation_errors(http: httpx.Client, body: dict[str, Any]):
    response = http.post("/v1/send-message/", headers={"X-API-KEY": ACME_KEY}, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


# --- Bad input never yields a 5xx ---------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if e[0] != "GET"])
@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"', b"null"])
def test_malformed_bodies_are_clear_400s(
    http: httpx.Client, method: str, path: str, content: bytes
):
    headers = {**as_user(http), "Content-Type": "application/json"}
    response = http.request(method, path, headers=headers, content=content)
    bodiless = method == "DELETE"
    # Bodiless DELETEs ignore the content; schedule paths here name unknown executions.
    expected = {200} if path.endswith("event-subscription/") and bodiless else {400, 404}
    assert response.status_code in expected
    if response.content:
        assert response.headers["content-type"].startswith("application/json")


def test_unknown_paths_and_methods_are_json(http: httpx.Client):
    missing = http.get("/v1/nowhere/")
    assert missing.status_code == 404
    assert missing.json() == NOT_FOUND
    wrong = http.get("/v1/platform/storage/", headers={"X-API-KEY": ACME_KEY})
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


def test_openapi_describes_every_endpoint_of_the_seed(http: httpx.Client):
    document = http.get("/openapi.json").json()
    for method, path in ENDPOINTS:
        template = (
            "/v1/platform/scheduling/{schedule_uuid}/"
            if "scheduling/" in path and path != "/v1/platform/scheduling/"
            else path
        )
        assert method.lower() in document["paths"][template]


def test_health(http: httpx.Client):
    assert http.get("/_emulator/health").json() == {"status": "ok"}
    assert GLOBEX  # the world module is the fixtures' contract


@pytest.mark.parametrize(
    "content",
    [
        b'{"op": "set", "params": {"key": "k", "value": NaN}}',
        b'{"op": "set", "params": {"key": "k", "value": Infinity}}',
        b'{"op": "set", "params": {"key": "\\ud800", "value": 1}}',
        b'{"op": "set", "params": {"key": "k", "value": ' + b"9" * 5000 + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_json_that_cannot_round_trip_is_refused(http: httpx.Client, content: bytes):
    headers = {**as_user(http), "Content-Type": "application/json"}
    response = http.post("/v1/platform/storage/", headers=headers, content=content)
    assert response.status_code == 400
    assert response.json() == {"details": "Request body is not valid JSON."}


def test_odd_but_valid_strings_are_stored(http: httpx.Client):
    headers = as_user(http)
    key = "nul\u0000 and emoji \U0001f600"
    storage(http, headers, op="set", params={"key": key, "value": "\u0000"})
    assert storage(http, headers, op="get", params={"key": key}).json() == {key: "\u0000"}


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *"])
def test_a_cron_that_never_fires_is_refused(http: httpx.Client, cron: str):
    response = http.post(
        "/v1/platform/scheduling/", headers=as_user(http), json={"name": "never", "cron": cron}
    )
    assert response.status_code == 400
    assert "never fires" in response.json()["details"]


@pytest.mark.parametrize("url", ["http://", "https:///path", "mailto:someone@example.com"])
def test_callback_urls_need_a_host(http: httpx.Client, url: str):
    headers = as_user(http)
    schedule_uuid = create_schedule(http, headers)
    response = http.put(
        f"/v1/platform/scheduling/{schedule_uuid}/", headers=headers, json={"callback_url": url}
    )
    assert response.status_code == 400


# The runtime's catalogue: the emulator plays the other side and keeps its own list.
DOTTED_EVENTS = list(EVENT_NAMES)


@pytest.mark.parametrize("event", DOTTED_EVENTS)
def test_every_event_name_of_the_contract_is_accepted_in_both_spellings(
    http: httpx.Client, event: str
):
    headers = as_user(http, KIM, GLOBEX_KEY)
    shouted = event.upper().replace(".", "_")
    response = http.post(
        "/v1/platform/event-subscription/",
        headers=headers,
        json={"subscriptions": [event, shouted], "subscribed_objects": []},
    )
    assert response.status_code == 200
    assert isinstance(response.json()["hook_uuid"], int)
    assert set(response.json()) == {"hook_uuid"}


@pytest.mark.parametrize("name", ["kudos", "KUDOS.POSTED", "kudos_posted", "Kudos.Posted", ""])
def test_near_miss_event_names_are_refused(http: httpx.Client, name: str):
    response = http.post(
        "/v1/platform/event-subscription/",
        headers=as_user(http),
        json={"subscriptions": [name]},
    )
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


def test_unregister_answers_200_with_no_body_even_without_a_hook(http: httpx.Client):
    response = http.delete("/v1/platform/event-subscription/", headers=as_user(http, JOHN))
    assert response.status_code == 200
    assert response.content == b""


def test_send_message_with_targets_buttons_and_the_header_token(http: httpx.Client):
    text = f"Buttons: {uuid.uuid4()}"
    buttons = [
        {"label": "Yes", "label_after_click": "Yes!", "value": "yes", "button_type": "Command"}
    ]
    response = http.post(
        "/v1/send-message/",
        headers=as_user(http, JANE),
        json={
            "message": text,
            "buttons": buttons,
            "image_url": "https://example.com/a.png",
            "target_channels": ["general"],
        },
    )
    assert response.status_code == 200
    assert set(response.json()) == {"id", "status"}
    [recorded] = [m for m in http.get("/_emulator/messages").json() if m["message"] == text]
    assert recorded["buttons"] == buttons
    assert recorded["image_url"] == "https://example.com/a.png"
    assert recorded["target_channels"] == ["general"]
    assert "target_users" not in recorded
    assert recorded["user_uuid"] == JANE


def test_send_message_with_targets_needs_no_token(http: httpx.Client):
    response = http.post(
        "/v1/send-message/",
        headers={"X-API-KEY": ACME_KEY},
        json={"message": "to a channel", "target_channels": ["general"]},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "sent"


def test_storage_value_over_64_kib_by_its_encoded_size(http: httpx.Client):
    # 21,846 three-byte characters: under 64 Ki characters, over 64 KiB of UTF-8.
    value = "\u20ac" * 21_846
    response = storage(http, as_user(http), op="set", params={"key": "euro", "value": value})
    assert response.status_code == 400
    assert set(response.json()) == {"details"}


def test_storage_delete_of_an_absent_key_and_namespace_only_access(http: httpx.Client):
    headers = {"X-API-KEY": ACME_KEY}
    key = f"absent-{uuid.uuid4()}"
    response = storage(http, headers, op="delete", namespace="ns", params={"key": key})
    assert response.status_code == 200
    assert response.json() == {}


def test_activity_list_is_in_the_seeds_shape(http: httpx.Client):
    headers = as_user(http, KIM, GLOBEX_KEY)
    http.post("/v1/platform/activity/", headers=headers, json={"category": "c", "action": "a"})
    records = http.get("/v1/platform/activity/", headers=headers).json()
    assert isinstance(records, list)
    assert records
    for record in records:
        assert set(record) == ACTIVITY_RECORD_FIELDS
        assert record["command"] == GLOBEX_COMMAND
        assert record["organization"] == GLOBEX
