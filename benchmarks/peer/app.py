"""The peer: a Dailybot command app as a user would write it by the docs, on the runtime's stack.

Chalice for the route, a constant-time signature check, Powertools Logger and Metrics (one
JSON log line and one EMF metrics line per delivery), Powertools idempotency over the whole
answer, httpx for the platform's storage API, and Powertools Parameters for secrets kept in
SSM. It answers `remember KEY VALUE` (one storage call), `vote` (the question, no call) and
anything else with a constant. Configured by the environment, read at import:

- `PEER_API_URL`, and `PEER_API_KEY` or `PEER_API_KEY_PARAMETER` (an SSM parameter name);
- `PEER_SIGNATURE` or `PEER_SIGNATURE_PARAMETER`;
- `PEER_STORE`: `memory` (the default, `memory_store`) or `dynamodb://TABLE` (Powertools'
  DynamoDB layer; its endpoint from `AWS_ENDPOINT_URL_DYNAMODB`, as boto3 reads it);
- `PEER_USAGE_ACTIVITY`: `on` records each invocation as activity `usage/triggered/<intent>`
  the way the platform's documentation leads a user to: one `POST /v1/platform/activity/`
  with the delivery's exchange token, after the command's own work and in series with it,
  inside the idempotent function (a duplicate records nothing, as with ours). `off` (the
  default) records nothing.
"""

from __future__ import annotations

import hmac
import os
from typing import Any, cast

import httpx
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from chalice.app import Chalice, Response

from benchmarks.peer.memory_store import InMemoryPersistenceLayer

logger = Logger(service="dailybot-peer")
metrics = Metrics(namespace="DailybotPeer", service="dailybot-peer")
app = Chalice(app_name="dailybot-peer")

platform = httpx.Client(
    base_url=os.environ.get("PEER_API_URL", "https://api.dailybot.com/v1/"),
    timeout=httpx.Timeout(5.0, connect=2.0),
)


def _persistence_store() -> BasePersistenceLayer:
    store = os.environ.get("PEER_STORE", "memory")
    if store.startswith("dynamodb://"):
        return DynamoDBPersistenceLayer(table_name=store.removeprefix("dynamodb://"))
    return InMemoryPersistenceLayer()


persistence_store = _persistence_store()
records_usage = os.environ.get("PEER_USAGE_ACTIVITY", "off") == "on"
config = IdempotencyConfig(
    event_key_jmespath="[organization_uuid, user_uuid, intent, query, event_timestamp]",
    expires_after_seconds=3600,
)


def _secret(name: str) -> str:
    """`PEER_<name>`, or the SSM parameter `PEER_<name>_PARAMETER` names (cached by Powertools)."""
    parameter = os.environ.get(f"PEER_{name}_PARAMETER")
    if parameter:
        return str(parameters.get_parameter(parameter, decrypt=True))
    return os.environ.get(f"PEER_{name}", "")


@app.route("/dailybot", methods=["POST"])
def dailybot() -> Response | dict[str, Any]:
    request = app.current_request
    assert request is not None  # Chalice sets it for every route call
    given = request.headers.get("x-dailybot-signature", "").encode()
    if not hmac.compare_digest(given, _secret("SIGNATURE").encode()):
        return Response({"code": "invalid_signature", "message": "Bad signature."}, status_code=401)
    delivery = request.json_body
    if not isinstance(delivery, dict):
        return Response({"code": "invalid_body", "message": "Not an object."}, status_code=400)
    # The in-progress lock expires with the invocation, as the idempotency docs advise.
    config.register_lambda_context(cast("LambdaContext", app.lambda_context))
    logger.append_keys(intent=delivery.get("intent"))
    reply: dict[str, Any] = answer(delivery=delivery)
    metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    logger.info("delivery answered")
    return reply


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
    data_keyword_argument="delivery", config=config, persistence_store=persistence_store
)
def answer(delivery: dict[str, Any]) -> dict[str, Any]:
    reply = _command(delivery)
    if records_usage:
        _record_usage(delivery)
    return reply


def _command(delivery: dict[str, Any]) -> dict[str, Any]:
    intent = str(delivery.get("intent", "")).strip().lower()
    words = str(delivery.get("query") or "").split()
    if intent == "remember" and len(words) >= 2:
        key, value = words[0], " ".join(words[1:])
        _store(key, value, str(delivery.get("exchange_token", "")))
        return {"message": f"Got it: *{key}* is `{value}`."}
    if intent == "vote" and not words:
        return {
            "message": "*Shall we ship it?*",
            "buttons": [{"label": "Yes", "value": "vote yes"}, {"label": "No", "value": "vote no"}],
        }
    return {"message": f"I do not know `{intent}`."}


def _record_usage(delivery: dict[str, Any]) -> None:
    response = platform.post(
        "platform/activity/",
        json={
            "category": "usage",
            "action": "triggered",
            "label": str(delivery.get("intent", "")),
            "user_uuid": delivery.get("user_uuid"),
        },
        headers={
            "X-API-KEY": _secret("API_KEY"),
            "X-EXCHANGE-TOKEN": str(delivery.get("exchange_token", "")),
        },
    )
    response.raise_for_status()


def _store(key: str, value: str, exchange_token: str) -> None:
    response = platform.post(
        "platform/storage/",
        json={"op": "set", "params": {"key": key, "value": value}},
        headers={"X-API-KEY": _secret("API_KEY"), "X-EXCHANGE-TOKEN": exchange_token},
    )
    response.raise_for_status()
