"""Logs, traces and metrics (Powertools), with every known secret scrubbed from every log line.

- `logger`: JSON lines; one summary line per delivery with its correlation id, kind, subject,
  cold start, outcome and duration (`DeliveryObservation`).
- traces: a subsegment per platform call (`platform_call_tracer()`), off outside Lambda.
- `metrics`: EMF, flushed once per delivery: Deliveries (by kind and outcome), Duplicates,
  HandlerErrors, PlatformErrors, DeliveryLatency.
- `redactor`: the API key, the accepted signatures and recent exchange tokens, replaced by a
  placeholder in the formatted output of our logger and of every root handler (httpx too).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.dailybot.client import CallWrapper
from chalicelib.redaction import SHORTEST_SECRET, Secret, redact_text

SERVICE: Final = os.environ.get("POWERTOOLS_SERVICE_NAME") or "dailybot-runtime"
NAMESPACE: Final = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "DailybotRuntime"
# Exchange tokens of recent deliveries; a handler thread may still log after its reply.
_RECENT_TOKENS: Final = 128
_SUBJECT_KEYS: Final = {"command": "intent", "event": "event", "scheduled": "schedule"}
# An intent is whatever the body says: every log line of the delivery repeats it.
_LONGEST_SUBJECT: Final = 200


class SecretRedactor:
    """The secrets no log line may show: configured ones and recent exchange tokens.

    Every log line is checked against every value, so the values are kept revealed in one
    de-duplicated tuple, rebuilt only when a secret is added.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._static: tuple[Secret, ...] = ()
        self._recent: OrderedDict[Secret, None] = OrderedDict()
        self._values: tuple[str, ...] = ()

    def configure(self, secrets: Iterable[Secret | None]) -> None:
        """The API key and signatures of this container."""
        with self._lock:
            self._static = tuple(secret for secret in secrets if secret)
            self._rebuild()

    def remember(self, secret: Secret | None) -> None:
        """A per-delivery secret (the exchange token) to scrub from now on."""
        if not secret:
            return
        with self._lock:
            if secret in self._recent:
                self._recent.move_to_end(secret)
                return
            self._recent[secret] = None
            if len(self._recent) > _RECENT_TOKENS:
                self._recent.popitem(last=False)
            self._rebuild()

    def _rebuild(self) -> None:
        values = {secret.reveal(): None for secret in (*self._static, *self._recent)}
        self._values = tuple(value for value in values if len(value) >= SHORTEST_SECRET)

    def redact(self, text: str) -> str:
        return redact_text(text, self._values)


redactor = SecretRedactor()


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, scrubbed of secrets after formatting (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redactor.redact(super().format(record))


class RedactingFilter(logging.Filter):
    """For handlers we do not format: scrubs the message and the traceback text of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redactor.redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        return True


class _CurrentStdout:
    """Writes to whatever `sys.stdout` is at the time (so test capture sees our lines)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


logger = Logger(service=SERVICE, stream=_CurrentStdout(), logger_formatter=RedactingFormatter())  # type: ignore[arg-type]
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
_metrics_lock = threading.Lock()


def protect_root_logging() -> None:
    """Adds the redacting filter to every handler of the root logger (httpx logs go there)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())


def platform_call_tracer() -> CallWrapper | None:
    """A subsegment per platform call, or None when tracing is off (locally, in tests).

    The tracer (and the X-Ray SDK behind it) is only built when it will trace.
    """
    if Tracer._is_tracer_disabled():
        return None
    tracer = Tracer(service=SERVICE)

    @contextmanager
    def subsegment(method: str, path: str) -> Iterator[None]:
        with tracer.provider.in_subsegment(f"## dailybot {method} {path}") as segment:
            segment.put_annotation("method", method)
            segment.put_annotation("path", path)
            yield

    return subsegment


class DeliveryObservation:
    """The log keys, summary line and metrics of one delivery."""

    _cold_start = True
    _cold_lock = threading.Lock()

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = clock()
        self.kind = "unknown"
        self.subject: str | None = None
        self.correlation_id: str | None = None
        self.handler_errors = 0
        self.platform_errors = 0
        with DeliveryObservation._cold_lock:
            self.cold_start = DeliveryObservation._cold_start
            DeliveryObservation._cold_start = False
        # Keys of this delivery only: `chalice local` serves deliveries in threads, and the
        # handler's worker thread runs in a copy of this context (worker.py).
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(kind=self.kind, cold_start=self.cold_start)

    def identify(self, *, correlation_id: str, kind: str, subject: str | None) -> None:
        """Names the delivery in every following line: `intent`, `event` or `schedule`."""
        self.kind = kind
        self.subject = subject
        self.correlation_id = correlation_id
        logger.thread_safe_append_keys(
            correlation_id=correlation_id,
            kind=kind,
            **{_SUBJECT_KEYS.get(kind, "subject"): _loggable(subject)},
        )

    def finish(self, outcome: str, *, status: int, reason: str | None = None) -> None:
        """Logs the summary line and flushes this delivery's metrics; never raises."""
        duration_ms = round((self._clock() - self._started) * 1000, 3)
        try:
            logger.info(
                "delivery finished",
                extra={
                    "outcome": outcome,
                    "status": status,
                    "reason": reason,
                    "duration_ms": duration_ms,
                },
            )
            self._emit_metrics(outcome, duration_ms)
        except Exception:  # observability must never fail a delivery
            logging.getLogger(__name__).exception("could not record a delivery")
        finally:
            logger.thread_safe_clear_keys()

    def _emit_metrics(self, outcome: str, duration_ms: float) -> None:
        # One Metrics object per process: concurrent deliveries (chalice local serves in
        # threads) must not mix their dimensions in one flush.
        with _metrics_lock:
            self._flush_metrics(outcome, duration_ms)

    def _flush_metrics(self, outcome: str, duration_ms: float) -> None:
        metrics.add_dimension(name="kind", value=self.kind)
        metrics.add_dimension(name="outcome", value=outcome)
        metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Milliseconds, value=duration_ms)
        counters = {
            "Duplicates": int(outcome == "duplicate"),
            "HandlerErrors": self.handler_errors,
            "PlatformErrors": self.platform_errors,
        }
        for name, value in counters.items():
            if value:
                metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.flush_metrics(raise_on_empty_metrics=False)


def _loggable(subject: str | None) -> str | None:
    if subject is None or len(subject) <= _LONGEST_SUBJECT:
        return subject
    return subject[:_LONGEST_SUBJECT] + "…"
