"""The runtime's own request and response values, free of any web framework.

The Chalice adapter builds an `IncomingRequest` from what API Gateway delivered and turns an
`OutgoingResponse` back into a Chalice response; everything in between is plain Python.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from chalicelib.dailybot.models import JSONValue


@dataclass(frozen=True)
class IncomingRequest:
    """One delivery as received: the raw body bytes and the headers, names lower-cased.

    `received_at` is when it reached the app (`time.monotonic()`, taken when the value is
    made): the reply's budget counts from there, so what happens before the intake (the
    container's runtime being built on its first delivery) is spent from it too.
    """

    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    received_at: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, body: bytes, headers: Mapping[str, str]) -> IncomingRequest:
        lowered = {name.lower(): value for name, value in headers.items()}
        return cls(body=body, headers=MappingProxyType(lowered))


@dataclass(frozen=True)
class OutgoingResponse:
    """What the runtime answers: a status, a JSON object and any headers of its own."""

    status: int
    body: Mapping[str, JSONValue]
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def with_header(self, name: str, value: str) -> OutgoingResponse:
        return replace(self, headers=MappingProxyType({**self.headers, name: value}))

    @classmethod
    def refusal(cls, status: int, code: str, message: str) -> OutgoingResponse:
        """A 4xx/5xx with the `{"code", "message"}` body every refusal carries."""
        return cls(status=status, body={"code": code, "message": message})
