"""Bad input never gets a 500: random bodies and wrong types through `POST /dailybot`.

Every answer must be a 2xx, or a 4xx whose JSON body is exactly `{"code", "message"}`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.runtime.conftest import Poster
from tests.runtime.deliveries import invocation, sample

# The fixtures (app client, fake platform, SQLite store) are safe to share between examples:
# a repeated body is a duplicate, which is one of the outcomes under test.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["", " ", "NaN", "1e400", "9" * 400, "²", "0001-01-01T00:00:00+14:00"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

FIELDS = [
    "intent",
    "event_timestamp",
    "organization_uuid",
    "user_uuid",
    "user_full_name",
    "command_uuid",
    "query",
    "text",
    "exchange_token",
    "user_context",
    "scheduled_execution",
    "event",
    "hook",
    "body",
]


def assert_well_answered(response: Any) -> None:
    assert 200 <= response.status_code < 500, (response.status_code, response.body)
    body = json.loads(response.body)
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert set(body) == {"code", "message"}
        assert all(isinstance(value, str) and value for value in body.values())
    else:
        assert "message" in body or body == {"status": "accepted"}


@FUZZ
@given(raw=st.binary(max_size=2048))
def test_random_bytes(deliver: Poster, raw: bytes) -> None:
    assert_well_answered(deliver(raw))


@FUZZ
@given(value=json_values)
def test_random_json(deliver: Poster, value: Any) -> None:
    assert_well_answered(deliver(json.dumps(value).encode()))


BASES = {
    "command": lambda: invocation("recall", "color"),
    "event": lambda: sample("event_kudos_posted"),
    "scheduled": lambda: sample("scheduled_standup_reminder"),
}


@FUZZ
@given(
    kind=st.sampled_from(sorted(BASES)),
    changes=st.dictionaries(st.sampled_from(FIELDS), json_values, min_size=1, max_size=3),
)
def test_wrong_types_for_every_field(deliver: Poster, kind: str, changes: dict[str, Any]) -> None:
    body = BASES[kind]() | changes

    assert_well_answered(deliver(json.dumps(body).encode()))


@FUZZ
@given(
    field=st.sampled_from(["scheduled_execution", "hook", "body", "user_context"]),
    inner=st.dictionaries(st.sampled_from(["uuid", "name", "payload"]), json_values, max_size=3),
)
def test_wrong_nested_objects(deliver: Poster, field: str, inner: dict[str, Any]) -> None:
    base = sample("scheduled_standup_reminder" if field != "hook" else "event_kudos_posted")

    assert_well_answered(deliver(json.dumps(base | {field: inner}).encode()))


@pytest.mark.parametrize(
    "timestamp",
    [
        True,
        False,
        "garbage",
        "",
        10**400,
        -(10**400),
        "9" * 400,
        "1e999",
        1e308,
        -1e308,
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        [],
        {},
    ],
)
def test_every_odd_timestamp_is_a_4xx(deliver: Poster, timestamp: Any) -> None:
    response = deliver(json.dumps(invocation("recall", "x", event_timestamp=timestamp)).encode())

    assert 400 <= response.status_code < 500
    assert set(response.json_body) == {"code", "message"}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_timestamps_are_invalid(deliver: Poster, value: float) -> None:
    raw = json.dumps(invocation("recall", "x", event_timestamp=value)).encode()  # NaN, Infinity

    response = deliver(raw)

    assert response.status_code == 400
    assert response.json_body["code"] == "invalid_field"


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
        b'{"intent": "' + b"x" * (300 * 1024) + b'"}',
        json.dumps({"intent": "\ud800", "event_timestamp": 1}).encode(),
    ],
    ids=["deep-array", "deep-object", "huge", "lone-surrogate"],
)
def test_pathological_bodies(deliver: Poster, raw: bytes) -> None:
    assert len(raw) <= 256 * 1024 or raw.startswith(b'{"intent"')

    assert_well_answered(deliver(raw))


def test_a_deeply_nested_body_is_named_as_such(deliver: Poster) -> None:
    response = deliver(b"[" * 100_000 + b"]" * 100_000)

    assert (response.status_code, response.json_body["code"]) == (400, "invalid_body")


def test_a_lone_surrogate_in_a_valid_delivery_is_answered(deliver: Poster) -> None:
    body = json.dumps(invocation("\ud800-odd", "\udfff")).encode()

    response = deliver(body)

    assert response.status_code == 200
    assert "Available commands" in response.json_body["message"]
