"""The AWS configuration for the benchmarks: moto's server on 127.0.0.1, counting DynamoDB calls.

It runs moto's own WSGI application in a thread of this process behind a small counter of the
DynamoDB operations it answers (by their `X-Amz-Target`), so a benchmark can say how many
round trips a delivery made. `prepare` creates the idempotency tables and the SSM parameters
that hold the secrets, for our app and the peer alike.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from benchmarks.subjects import API_KEY, SIGNATURE
from benchmarks.threaded_server import InThread

OUR_TABLE: Final = "bench-idempotency"
PEER_TABLE: Final = "bench-peer-idempotency"
API_KEY_PARAMETER: Final = "/bench/api-key"
SIGNATURES_PARAMETER: Final = "/bench/signatures"

_WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LocalAWS(InThread):
    """moto's server in a thread while used as a context manager; `dynamodb_calls` counts."""

    def __init__(self) -> None:
        # Werkzeug logs every request; the benchmark's figures are what matter here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.dynamodb_calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        moto: _WSGIApp = DomainDispatcherApplication(create_backend_app)
        super().__init__(
            make_server(
                "127.0.0.1",
                0,
                self._counting(moto),
                threaded=True,
                request_handler=MotoRequestHandler,
            )
        )

    @property
    def endpoint(self) -> str:
        return self.origin

    def _counting(self, moto: _WSGIApp) -> _WSGIApp:
        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            if target.startswith("DynamoDB_"):
                with self._lock:
                    self.dynamodb_calls[target.rsplit(".", 1)[-1]] += 1
            return moto(environ, start_response)

        return application

    def prepare(self) -> None:
        """The two idempotency tables and the secrets' parameters."""
        import boto3  # type: ignore[import-untyped]

        ssm = boto3.client("ssm", endpoint_url=self.endpoint)
        for name, value in ((API_KEY_PARAMETER, API_KEY), (SIGNATURES_PARAMETER, SIGNATURE)):
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        dynamodb = boto3.client("dynamodb", endpoint_url=self.endpoint)
        # moto keeps its state per process, not per server: a second server sees the tables.
        existing = set(dynamodb.list_tables()["TableNames"])
        for table in {OUR_TABLE, PEER_TABLE} - existing:
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )

    def our_environment(self) -> dict[str, str]:
        """Our app's AWS settings: the DynamoDB store and the secrets in SSM."""
        return {
            "IDEMPOTENCY_STORE": f"dynamodb://{OUR_TABLE}",
            "IDEMPOTENCY_DYNAMODB_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL_SSM": self.endpoint,
            "DAILYBOT_API_KEY": "",
            "DAILYBOT_SIGNATURES": "",
            "DAILYBOT_API_KEY_PARAMETER": API_KEY_PARAMETER,
            "DAILYBOT_SIGNATURES_PARAMETER": SIGNATURES_PARAMETER,
        }

    def peer_environment(self) -> dict[str, str]:
        """The peer's, configured the same way (boto3 reads the endpoints it needs)."""
        return {
            "PEER_STORE": f"dynamodb://{PEER_TABLE}",
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
            "AWS_ENDPOINT_URL_SSM": self.endpoint,
            "PEER_API_KEY": "",
            "PEER_SIGNATURE": "",
            "PEER_API_KEY_PARAMETER": API_KEY_PARAMETER,
            "PEER_SIGNATURE_PARAMETER": SIGNATURES_PARAMETER,
        }
