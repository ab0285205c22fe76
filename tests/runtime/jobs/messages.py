"""Deliveries and job messages for the job tests, parsed as the intake parses them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib.runtime.intake.delivery import Delivery, parse_delivery
from chalicelib.runtime.jobs.message import JobMessage, job_identity
from chalicelib.settings import DeliveryFields
from tests.runtime.deliveries import invocation, sample


def delivery_of(body: dict[str, Any]) -> Delivery:
    return parse_delivery(json.dumps(body).encode(), DeliveryFields(), max_bytes=1 << 20)


def command(intent: str = "drill", query: str = "", **changes: Any) -> Delivery:
    return delivery_of(invocation(intent, query, **changes))


def event(name: str = "kudos.posted", **changes: Any) -> Delivery:
    return delivery_of(sample("event_kudos_posted", event=name, **changes))


def message(
    job: str = "drill-nap", *, delivery: Delivery | None = None, chain: int = 1, **arguments: Any
) -> JobMessage:
    """A job message of a fresh identity (a new deferring run each time)."""
    arguments = arguments or ({"seconds": 0} if job == "drill-nap" else {})
    identity = job_identity(uuid.uuid4().hex, job, arguments)
    return JobMessage(identity, job, arguments, (delivery or command()).without_token(), chain)


def poisoned_bodies() -> dict[str, str]:
    """Queue bodies a hostile or broken producer could write, by what is wrong with them."""
    good = json.loads(message("drill-silent").encode())

    def changed(**fields: Any) -> str:
        body = json.loads(json.dumps(good))
        for path, value in fields.items():
            target = body
            *parents, leaf = path.split("__")
            for parent in parents:
                target = target[parent]
            target[leaf] = value
        return json.dumps(body)

    return {
        "bogus kind": changed(delivery__kind="bogus"),
        "job is a list": changed(job=["drill-silent"]),
        "sent_at is yesterday": changed(delivery__sent_at="yesterday"),
        "organization is an object": changed(delivery__organization_uuid={}),
        "100,000 nested [": "[" * 100_000,
        "not JSON": "{not json",
    }
