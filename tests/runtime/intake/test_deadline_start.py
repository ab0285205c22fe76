"""The reply's budget counts from when the delivery reached the app, not from the intake."""

from __future__ import annotations

import dataclasses
import time

from chalicelib.runtime.composition import Runtime
from chalicelib.runtime.intake.http import IncomingRequest
from tests.runtime.deliveries import encode, headers, invocation
from tests.runtime.fake_platform import FakePlatform


def test_a_request_is_stamped_when_it_is_made() -> None:
    before = time.monotonic()
    request = IncomingRequest.of(b"{}", {})

    assert before <= request.received_at <= time.monotonic()


def test_time_spent_before_the_intake_comes_out_of_the_budget(
    runtime: Runtime, platform: FakePlatform
) -> None:
    # Received 9.2 s ago (a runtime built slowly on a container's first delivery, say): with
    # the default budget of 10 s and margin of 1 s, the handler's time is gone already.
    request = IncomingRequest.of(encode(invocation("remember", "color blue")), headers())
    late = dataclasses.replace(request, received_at=time.monotonic() - 9.2)

    response = runtime.intake.handle(late)

    # Dailybot delivers it again; nothing ran, nothing was stored.
    assert (response.status, response.body["code"]) == (503, "store_unavailable")
    assert platform.calls == []
    again = runtime.intake.handle(IncomingRequest.of(request.body, headers()))
    assert again.body == {"message": "Got it: *color* is `blue`."}
