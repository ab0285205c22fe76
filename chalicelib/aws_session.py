"""The container's one boto3 session, made on first use, and clients made from it.

A boto3 session loads the SDK's data files (endpoints, partitions, each service's model) and
keeps them: a second client of the same session costs a fraction of the first, while a client
of a new session pays for all of it again. The idempotency store, the reconcile lock and the
secret parameters all take their clients from this one session, so a cold start with the AWS
configuration loads those files once. boto3 is imported on first use only: the SQLite store
with secrets in the environment never needs it.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_sessions: list[Any] = []


def session() -> Any:
    """The shared `boto3.session.Session` (made now if this is the first use)."""
    with _lock:
        return _session()


def client(service: str, **options: Any) -> Any:
    """A new client of the shared session (one at a time: a session is not thread safe)."""
    with _lock:
        return _session().client(service, **options)


def _session() -> Any:
    if not _sessions:
        import boto3  # type: ignore[import-untyped]  # noqa: PLC0415

        _sessions.append(boto3.session.Session())
    return _sessions[0]
