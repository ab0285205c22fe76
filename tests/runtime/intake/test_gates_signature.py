"""Signatures bound to their command: the gate's matching, and the attack through the whole app.

One deployment serving Acme's and Globex's commands must not let Globex's signature act for
Acme's command (or the other way round), whatever organization or user the body names.
"""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.redaction import Secret
from chalicelib.runtime.intake import gates as signature_module
from chalicelib.runtime.intake.gates import SignatureMatch, matching_signature
from chalicelib.settings import AcceptedSignature
from tests.runtime.conftest import RuntimeFactory
from tests.runtime.deliveries import encode, headers, invocation, sample
from tests.runtime.fake_platform import FakePlatform

ACME_COMMAND = "c0000000-0000-4000-8000-000000000001"
GLOBEX_COMMAND = "c0000000-0000-4000-8000-000000000002"
GLOBEX_ORG = "22222222-2222-4222-8222-222222222222"
KIM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
ACME_SIGNATURE = "test-signature-acme-0001"
GLOBEX_SIGNATURE = "test-signature-globex-0002"
BOUND = f"{ACME_COMMAND}:{ACME_SIGNATURE}, {GLOBEX_COMMAND}:{GLOBEX_SIGNATURE}"

ACME = AcceptedSignature(Secret(ACME_SIGNATURE), ACME_COMMAND)
GLOBEX = AcceptedSignature(Secret(GLOBEX_SIGNATURE), GLOBEX_COMMAND)


def presented(signature: str) -> dict[str, str]:
    return {"x-dailybot-signature": signature}


# -- the gate's matching ----------------------------------------------------------------------


def test_a_bound_signature_admits_only_its_command() -> None:
    match = matching_signature(presented(GLOBEX_SIGNATURE), [ACME, GLOBEX])

    assert match == SignatureMatch(frozenset({GLOBEX_COMMAND}))
    assert match.covers(GLOBEX_COMMAND)
    assert match.covers(GLOBEX_COMMAND.upper())  # the same uuid, written differently
    assert not match.covers(ACME_COMMAND)
    assert not match.covers(None)
    assert not match.covers("not-a-uuid")


def test_a_plain_signature_admits_any_command() -> None:
    plain = AcceptedSignature(Secret("plain-signature-0003"))
    match = matching_signature(presented("plain-signature-0003"), [ACME, plain])

    assert match == SignatureMatch(None)
    assert match.covers(ACME_COMMAND)
    assert match.covers(GLOBEX_COMMAND)
    assert match.covers(None)


def test_one_value_listed_for_two_commands_admits_both() -> None:
    shared = [ACME, AcceptedSignature(Secret(ACME_SIGNATURE), GLOBEX_COMMAND)]
    match = matching_signature(presented(ACME_SIGNATURE), shared)

    assert match == SignatureMatch(frozenset({ACME_COMMAND, GLOBEX_COMMAND}))


@pytest.mark.parametrize("header", [None, "", "test-signature-acme-000", ACME_SIGNATURE + "1"])
def test_an_unknown_or_missing_signature_matches_nothing(header: str | None) -> None:
    given = {} if header is None else presented(header)

    assert matching_signature(given, [ACME, GLOBEX]) is None
    assert matching_signature(given, []) is None


def test_every_accepted_value_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[bytes] = []
    constant_time = hmac.compare_digest

    def recording_compare(given: bytes, expected: bytes) -> bool:
        compared.append(expected)
        return constant_time(given, expected)

    monkeypatch.setattr(signature_module.hmac, "compare_digest", recording_compare)
    accepted = [ACME, GLOBEX, AcceptedSignature(Secret("plain-signature-0003"))]

    # The first value matches; the others are compared all the same.
    assert matching_signature(presented(ACME_SIGNATURE), accepted) is not None
    assert compared == [s.value.reveal().encode() for s in accepted]


# -- the attack through the app -----------------------------------------------------------------


@pytest.fixture
def bound_app(make_runtime: RuntimeFactory) -> Any:
    make_runtime(DAILYBOT_SIGNATURES=BOUND)
    with Client(app, stage_name="test") as client:
        yield client


def post(client: Client, body: dict[str, Any], signature: str) -> Any:
    return client.http.post("/dailybot", headers=headers(signature), body=encode(body))


@pytest.mark.parametrize(
    "body",
    [
        invocation("remember", "owned yes", command_uuid=ACME_COMMAND),
        invocation(
            "remember",
            "owned yes",
            command_uuid=ACME_COMMAND,
            organization_uuid=GLOBEX_ORG,
            user_uuid=KIM,
        ),
        sample("event_kudos_posted", command_uuid=ACME_COMMAND),
        sample("scheduled_standup_reminder", command_uuid=ACME_COMMAND),
        sample("scheduled_standup_reminder", command_uuid=ACME_COMMAND, exchange_token=None),
    ],
    ids=["acme-invocation", "names-globex-org", "event", "scheduled", "scheduled-no-token"],
)
def test_globex_signature_on_a_delivery_for_acmes_command_is_refused(
    bound_app: Client, platform: FakePlatform, body: dict[str, Any]
) -> None:
    response = post(bound_app, body, GLOBEX_SIGNATURE)

    assert response.status_code == 401
    assert response.json_body["code"] == "signature_not_for_command"
    assert "another command" in response.json_body["message"]
    assert platform.calls == []  # no token fetched, no storage touched, nothing recorded


def test_a_bound_signature_on_a_delivery_naming_no_command_is_refused(
    bound_app: Client, platform: FakePlatform
) -> None:
    body = invocation("remember", "owned yes")
    del body["command_uuid"]

    response = post(bound_app, body, ACME_SIGNATURE)

    assert response.status_code == 401
    assert response.json_body["code"] == "signature_not_for_command"
    assert platform.calls == []


def test_each_signature_still_runs_its_own_command(
    bound_app: Client, platform: FakePlatform
) -> None:
    acme = post(bound_app, invocation("remember", "color blue"), ACME_SIGNATURE)
    globex = post(
        bound_app,
        invocation(
            "recall",
            "color",
            command_uuid=GLOBEX_COMMAND.upper(),
            organization_uuid=GLOBEX_ORG,
            user_uuid=KIM,
        ),
        GLOBEX_SIGNATURE,
    )

    assert acme.status_code == 200
    assert acme.json_body == {"message": "Got it: *color* is `blue`."}
    assert globex.status_code == 200
    assert "message" in globex.json_body


def test_an_unknown_signature_is_still_invalid_before_the_body_is_read(
    bound_app: Client, platform: FakePlatform
) -> None:
    response = bound_app.http.post(
        "/dailybot", headers=headers("not-a-signature"), body=b"not json"
    )

    assert response.status_code == 401
    assert response.json_body["code"] == "invalid_signature"
    assert platform.calls == []
