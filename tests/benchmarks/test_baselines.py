"""The benchmarks' own pieces behave as the figures assume: the platform stub answers as the
platform does, the peer de-duplicates and checks its signature, and a first delivery answers
through a Lambda proxy event."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from chalice.test import Client

from benchmarks.peer.memory_store import InMemoryPersistenceLayer
from benchmarks.platform_stub import PlatformStub
from benchmarks.subjects import (
    API_KEY,
    HEADERS,
    ROOT,
    SIGNATURE,
    delivery,
    our_environment,
    peer_environment,
    run_first_delivery,
)
from chalicelib.dailybot.client import DailybotClient
from chalicelib.dailybot.errors import NotFound
from chalicelib.dailybot.models import ActivityEntry
from chalicelib.redaction import Secret

TOKEN = Secret("bench-exchange-token")


@pytest.fixture
def stub() -> Iterator[PlatformStub]:
    with PlatformStub() as running:
        yield running


def test_the_stub_keeps_storage_and_records_activity_like_the_platform(stub: PlatformStub) -> None:
    with DailybotClient(base_url=stub.base_url, api_key=Secret(API_KEY)) as client:
        client.storage_set("color", "blue", exchange_token=TOKEN)
        assert client.storage_get("color", exchange_token=TOKEN) == "blue"
        assert client.storage_get("color", namespace="elsewhere") is None
        record = client.create_activity(
            ActivityEntry(category="usage", action="triggered", label="remember"),
            exchange_token=TOKEN,
        )
        assert (record.category, record.label) == ("usage", "remember")
        with pytest.raises(NotFound):
            client.get_schedule("unknown", exchange_token=TOKEN)
    assert stub.answers.calls["POST /v1/platform/storage/"] == 3
    assert stub.answers.calls["POST /v1/platform/activity/"] == 1


def test_the_peers_store_refuses_a_second_claim_and_hands_back_the_first() -> None:
    store = InMemoryPersistenceLayer()
    first = DataRecord(idempotency_key="k", status="INPROGRESS", expiry_timestamp=2**40)
    store._put_record(first)
    with pytest.raises(IdempotencyItemAlreadyExistsError) as refused:
        store._put_record(DataRecord(idempotency_key="k", status="INPROGRESS"))
    assert refused.value.old_data_record is first
    store._delete_record(first)
    assert store._put_record(first) is None


@pytest.fixture
def peer(stub: PlatformStub, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    for name, value in peer_environment(stub.base_url).items():
        monkeypatch.setenv(name, value)
    # The peer reads its settings at import, as an app written by the docs does.
    return importlib.reload(importlib.import_module("benchmarks.peer.app"))


def test_the_peer_stores_once_per_delivery_and_checks_its_signature(
    peer: ModuleType, stub: PlatformStub
) -> None:
    client = Client(peer.app, stage_name="bench", project_dir=str(ROOT))
    body = delivery("remember", "color blue")
    first = client.http.post("/dailybot", headers=HEADERS, body=body)
    again = client.http.post("/dailybot", headers=HEADERS, body=body)
    assert first.json_body == again.json_body == {"message": "Got it: *color* is `blue`."}
    assert stub.answers.calls["POST /v1/platform/storage/"] == 1
    forged = {**HEADERS, "X-DailyBot-Signature": "not-" + SIGNATURE}
    assert client.http.post("/dailybot", headers=forged, body=body).status_code == 401


@pytest.mark.parametrize("subject", ["ours", "peer", "bare"])
def test_a_first_delivery_answers_a_lambda_proxy_event(
    subject: str, stub: PlatformStub, tmp_path: object
) -> None:
    env = {
        **os.environ,
        **our_environment(stub.base_url, f"sqlite:///{tmp_path}/idempotency.sqlite3"),
        **peer_environment(stub.base_url),
        "BENCH_SIGNATURE": SIGNATURE,
    }
    completed = run_first_delivery(subject, env)
    assert completed.returncode == 0, completed.stderr
    assert "answered-at " in completed.stderr
    storage_calls = stub.answers.calls["POST /v1/platform/storage/"]
    assert storage_calls >= (0 if subject == "bare" else 1)


def test_the_peer_records_usage_after_its_handler_once_per_new_delivery(
    stub: PlatformStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**peer_environment(stub.base_url), "PEER_USAGE_ACTIVITY": "on"}.items():
        monkeypatch.setenv(name, value)
    peer = importlib.reload(importlib.import_module("benchmarks.peer.app"))
    client = Client(peer.app, stage_name="bench", project_dir=str(ROOT))
    body = delivery("remember", "color blue")

    client.http.post("/dailybot", headers=HEADERS, body=body)
    client.http.post("/dailybot", headers=HEADERS, body=body)  # a duplicate records nothing

    assert stub.answers.calls["POST /v1/platform/storage/"] == 1
    assert stub.answers.calls["POST /v1/platform/activity/"] == 1
    monkeypatch.setenv("PEER_USAGE_ACTIVITY", "off")
    importlib.reload(peer)


def test_the_stub_and_moto_run_as_processes_of_their_own() -> None:
    from benchmarks.local_aws import OUR_TABLE, PEER_TABLE
    from benchmarks.services import moto_process, platform_stub_process

    with platform_stub_process() as url, moto_process() as moto:
        with DailybotClient(base_url=url, api_key=Secret(API_KEY)) as client:
            client.storage_set("color", "blue", exchange_token=TOKEN)
            assert client.storage_get("color", exchange_token=TOKEN) == "blue"
        import boto3

        tables = boto3.client("dynamodb", endpoint_url=moto).list_tables()["TableNames"]
        assert {OUR_TABLE, PEER_TABLE} <= set(tables)


@pytest.mark.parametrize(("store", "usage"), [("sqlite", "off"), ("dynamodb", "on")])
def test_each_warm_configuration_gives_both_apps_the_same_kind_of_work(
    store: str, usage: str
) -> None:
    from benchmarks.bench_intake import environment

    env = environment(store, usage, "http://platform.bench/v1/", "http://moto.bench")

    assert env["DAILYBOT_USAGE_ACTIVITY"] == env["PEER_USAGE_ACTIVITY"] == usage
    assert env["DAILYBOT_API_URL"] == env["PEER_API_URL"] == "http://platform.bench/v1/"
    if store == "dynamodb":
        assert env["IDEMPOTENCY_STORE"].startswith("dynamodb://")
        assert env["PEER_STORE"].startswith("dynamodb://")
        assert env["IDEMPOTENCY_DYNAMODB_ENDPOINT"] == env["AWS_ENDPOINT_URL_DYNAMODB"]
    else:
        assert env["IDEMPOTENCY_STORE"].startswith("sqlite:///")
        assert env["PEER_STORE"] == "memory"


def test_each_part_switched_off_answers_and_is_switched_on_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import chalicelib.runtime.intake.pipeline as pipeline
    from app import app
    from benchmarks.intake_parts import VARIANTS, variant_calls
    from benchmarks.platform_stub import PlatformAnswers
    from benchmarks.subjects import Poster
    from chalicelib.observability import DeliveryObservation

    env = our_environment("https://platform.bench/v1/", f"sqlite:///{tmp_path}/i.sqlite3")
    for name, value in {**env, "DAILYBOT_USAGE_ACTIVITY": "off"}.items():
        monkeypatch.setenv(name, value)
    pool, finish = vars(pipeline)["workers"], DeliveryObservation.finish

    calls = variant_calls(Poster(app), PlatformAnswers().transport())

    assert list(calls) == [f"ours, {name}" for name in VARIANTS]
    for call in calls.values():
        answer = call()
        assert isinstance(answer, dict)
        assert answer["message"] == "*Shall we ship it?*"
    assert vars(pipeline)["workers"] is pool
    assert DeliveryObservation.finish is finish
