"""The AWS calls the runtime really makes, recorded against moto, are what its roles grant.

A recorder on each botocore client's `before-parameter-build` event sees every operation, while
the delivery ledger, the reconcile lock, the secret readers and the jobs queue are driven
through every path they have. The union of the operations seen must equal the actions the
template's policies grant the function's role, on the table, parameters and queue the
template defines: nothing missing (a path that would fail with AccessDenied in AWS) and
nothing extra."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import (
    DynamoDBPersistenceLayer,
)
from aws_lambda_powertools.utilities.parameters import SSMProvider

from chalicelib.runtime.idempotency.ledger import (
    DeliveryInProgress,
    DeliveryLedger,
    Replayed,
    open_store,
)
from chalicelib.runtime.idempotency.lock import IdempotencyStoreLock
from chalicelib.runtime.jobs.queue import Outcome, RunResult
from chalicelib.runtime.jobs.sqs_queue import SQSJobQueue
from chalicelib.runtime.registration.installations import (
    DynamoDBInstallations,
    Reach,
    open_installations,
)
from chalicelib.secrets import CurrentSignatures, SecretSources, resolve_secrets
from chalicelib.settings import Settings
from tests.deploy.conftest import Packaged
from tests.runtime.jobs.messages import message
from tests.servers import moto_server

TABLE = "runtime-calls-idempotency"


class Recorder:
    """Every API operation a botocore client is asked for, as an IAM action (`dynamodb:PutItem`)."""

    def __init__(self) -> None:
        self.actions: set[str] = set()
        self.parameters: set[str] = set()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self._record)
        return client

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        prefix = model.service_model.signing_name
        self.actions.add(f"{prefix}:{model.name}")
        if prefix == "ssm":
            self.parameters.update(params.get("Names") or [params["Name"]])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _granted(packaged: Packaged, role: str = "ApiHandlerRole") -> dict[str, set[str]]:
    """The actions every policy attached to `role` grants, by service prefix."""
    granted: dict[str, set[str]] = {}
    for policy in packaged.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                granted.setdefault(action.split(":", 1)[0], set()).add(action)
    return granted


def _create_table(packaged: Packaged, endpoint: str) -> None:
    properties = packaged.resources["IdempotencyTable"]["Properties"]
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    if TABLE not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            BillingMode=properties["BillingMode"],
        )


def _store(endpoint: str, recorder: Recorder) -> DynamoDBPersistenceLayer:
    store = open_store(f"dynamodb://{TABLE}", dynamodb_endpoint=endpoint)
    assert isinstance(store, DynamoDBPersistenceLayer)
    recorder.attach(store.client)
    return store


def _drive_ledger(store: DynamoDBPersistenceLayer) -> None:
    ledger = DeliveryLedger(store, lock_seconds=30, window_seconds=3600)
    assert ledger.run_once("first", lambda: {"text": "ran"}, remember=dict) == {"text": "ran"}
    assert isinstance(ledger.run_once("first", lambda: {"text": "again"}, remember=dict), Replayed)

    def crash() -> dict[str, Any]:
        raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError):
        ledger.run_once("crashed", crash, remember=dict)

    def still_running() -> dict[str, Any]:
        with pytest.raises(DeliveryInProgress):
            ledger.run_once("slow", lambda: {}, remember=dict)
        return {}

    ledger.run_once("slow", still_running, remember=dict)
    # A runtime whose boto3 cannot return the old item on a failed conditional put reads it.
    store.return_value_on_condition = {}
    assert isinstance(ledger.run_once("first", lambda: {"text": "again"}, remember=dict), Replayed)


def _drive_lock(store: DynamoDBPersistenceLayer) -> None:
    lock = IdempotencyStoreLock(store, lock_seconds=60)
    assert lock.acquire("registration")
    assert not lock.acquire("registration")
    lock.release("registration")
    assert lock.acquire("registration")
    lock.release("registration")


def _drive_installations(endpoint: str, recorder: Recorder) -> None:
    """What a delivery does with its organization's installation (`make sync`'s listing runs
    with the operator's credentials, not the function's)."""
    installations = open_installations(f"dynamodb://{TABLE}", dynamodb_endpoint=endpoint)
    assert isinstance(installations, DynamoDBInstallations)
    installations.seen("org-1", "user-1", 1.0)
    assert installations.get("org-1") is not None
    installations.mark("org-1", Reach.USER_GONE, "gone")
    recorder.attach(installations.client)
    installations.seen("org-1", "user-2", 2.0)
    installations.seen("org-1", None, 3.0)
    installations.mark("org-1", Reach.NOT_PUBLIC, "not public")
    assert installations.get("org-1") is not None


def test_dynamodb_calls_are_exactly_the_granted_table_actions(
    prod_packaged: Packaged, endpoint: str
) -> None:
    _create_table(prod_packaged, endpoint)
    recorder = Recorder()
    _drive_ledger(_store(endpoint, recorder))
    _drive_lock(_store(endpoint, recorder))
    _drive_installations(endpoint, recorder)

    assert recorder.actions == _granted(prod_packaged)["dynamodb"]


def test_ssm_calls_are_exactly_the_granted_reads_of_the_stage_parameters(
    packaged: Packaged, endpoint: str
) -> None:
    env = packaged.stage_config()["environment_variables"]
    settings = Settings.from_env(env)
    client = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1")
    client.put_parameter(
        Name=env["DAILYBOT_API_KEY_PARAMETER"], Value="k", Type="SecureString", Overwrite=True
    )
    client.put_parameter(
        Name=env["DAILYBOT_SIGNATURES_PARAMETER"],
        Value="old,new",
        Type="SecureString",
        Overwrite=True,
    )
    recorder = Recorder()
    sources = SecretSources(ssm=SSMProvider(boto3_client=recorder.attach(client)))

    resolved = resolve_secrets(settings, sources=sources, max_age=0)
    assert len(CurrentSignatures(resolved, sources=sources)()) == 2

    assert recorder.actions == _granted(packaged)["ssm"]
    assert recorder.parameters == {
        env["DAILYBOT_API_KEY_PARAMETER"],
        env["DAILYBOT_SIGNATURES_PARAMETER"],
    }


# What Lambda's SQS event source mapping does with the function's role (AWS requires these
# grants for it); in Lambda the runtime's own code never receives, and deletes only a message
# it has just moved to the dead-letter queue.
EVENT_SOURCE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def _jobs_queue(packaged: Packaged, endpoint: str, recorder: Recorder) -> SQSJobQueue:
    properties = packaged.resources["JobsQueue"]["Properties"]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    dlq = sqs.create_queue(QueueName="runtime-calls-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {**properties["RedrivePolicy"], "deadLetterTargetArn": dlq_arn["QueueArn"]}
    url = sqs.create_queue(
        QueueName="runtime-calls-jobs",
        Attributes={
            "VisibilityTimeout": str(properties["VisibilityTimeout"]),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return SQSJobQueue(url, client=recorder.attach(boto3.client("sqs", endpoint_url=endpoint)))


def test_sqs_calls_are_exactly_the_granted_queue_actions_of_each_role(
    prod_packaged: Packaged, endpoint: str
) -> None:
    api, jobs = Recorder(), Recorder()
    _jobs_queue(prod_packaged, endpoint, api).send(message("build-report"))

    queue = _jobs_queue(prod_packaged, endpoint, jobs)
    unrecorded = SQSJobQueue(queue.queue_url, endpoint_url=endpoint)  # the event source's calls
    received = unrecorded.receive(visibility_seconds=30)
    assert received is not None
    # A retry's backoff, then the last attempt, as the Lambda handler settles them.
    queue.settle(received, RunResult(Outcome.RETRY, 10), delete=False)
    queue.settle(received, RunResult(Outcome.DEAD, reason="failed"), delete=False)
    queue.send(message("build-report"))  # a job deferring a job
    assert [dead.reason for dead in unrecorded.dead_letters()] == ["failed"]

    assert api.actions == _granted(prod_packaged, "ApiHandlerRole")["sqs"] == {"sqs:SendMessage"}
    assert jobs.actions | EVENT_SOURCE_ACTIONS == _granted(prod_packaged, "JobRunnerRole")["sqs"]
