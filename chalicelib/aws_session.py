"""The container's one boto3 session, made on first use, and clients made from it.

A boto3 session loads the SDK's data files (endpoints, partitions, each service's model) and
keeps them: a second client of the same session costs a fraction of the first, while a client
of a new session pays for all of it again. The idempotency store, the reconcile lock and the
secret parameters all take their clients from this one session, so a cold start with the AWS
configuration loads those files once. boto3 is imported on first use only: the SQLite store
with secrets in the environment never needs it.

The session looks in `chalicelib/aws_models/` first (botocore's `data_path`, as
`AWS_DATA_PATH` sets it): the models of the services it serves with only the operations the
runtime calls, and an endpoint table with only those services (written by
`python -m infra.aws_models`). Its clients are then built in a few milliseconds instead of
tens: SSM's whole model holds about 150 operations, for two parameters read. Its data loader
(`aws_loader.py`) finds those services without listing every service botocore knows.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Final

MODELS: Final = Path(__file__).resolve().parent / "aws_models"

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
        import botocore.session  # type: ignore[import-untyped]  # noqa: PLC0415

        from chalicelib.aws_loader import (  # noqa: PLC0415
            TrimmedModelsLoader,
            search_paths,
            trimmed_versions,
        )

        core = botocore.session.get_session()
        # Ours first, then any AWS_DATA_PATH, then botocore's own data.
        paths = search_paths(MODELS, core.get_config_variable("data_path"))
        core.set_config_variable("data_path", os.pathsep.join(paths))
        core.register_component("data_loader", TrimmedModelsLoader(trimmed_versions(MODELS), paths))
        _sessions.append(boto3.session.Session(botocore_session=core))
    return _sessions[0]
