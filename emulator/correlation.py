"""The headers that tie a platform call, a message or a reply to the delivery that caused it.

The runtime answers every parsed delivery with ``X-Correlation-Id`` (16 lowercase hex
characters, the id in its log lines) and sends that id on every platform call it makes while
running the delivery or one of its jobs; a job's calls also name the job (``X-Dailybot-Job``)
and its run (``X-Dailybot-Job-Id``). All three are optional: a call without them is shown
unlinked. A value that does not have the documented form is ignored, never stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CORRELATION_HEADER = "X-Correlation-Id"
JOB_HEADER = "X-Dailybot-Job"
JOB_ID_HEADER = "X-Dailybot-Job-Id"

_ID = re.compile(r"[0-9a-f]{16}")
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


@dataclass(frozen=True)
class Correlation:
    correlation_id: str | None = None
    job: str | None = None
    job_id: str | None = None


def correlation_id(value: str | None) -> str | None:
    """``value`` when it is a correlation (or job) id: 16 lowercase hex characters."""
    return value if value is not None and _ID.fullmatch(value) else None


def from_headers(headers: Mapping[str, str]) -> Correlation:
    """The correlation a request names (``headers`` matches names in any case, as Starlette's
    and httpx's do)."""
    job = headers.get(JOB_HEADER)
    return Correlation(
        correlation_id=correlation_id(headers.get(CORRELATION_HEADER)),
        job=job if job is not None and _JOB_NAME.fullmatch(job) else None,
        job_id=correlation_id(headers.get(JOB_ID_HEADER)),
    )
