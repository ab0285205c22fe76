"""What a platform call carries besides its own arguments: the user's exchange token, the
deadline it must finish by, and the labels tying it to the delivery or job it serves.

Every method of `DailybotClient` takes these as keywords typed by `CallOptions`, so a caller
holding them (a `PlatformSession`) hands them on as one checked value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypedDict
from urllib.parse import quote

from chalicelib.dailybot.deadline import Deadline
from chalicelib.redaction import Secret

CORRELATION_HEADER: Final = "X-Correlation-Id"
"""The correlation id of the delivery a call serves (the one in its log lines)."""
JOB_HEADER: Final = "X-Dailybot-Job"
JOB_ID_HEADER: Final = "X-Dailybot-Job-Id"
# A job's name is the author's text: only these characters travel in a header as they are.
_SAFE_IN_HEADER: Final = "-_.:/@ "


@dataclass(frozen=True)
class CallLabels:
    """Which delivery (and job) a call is made for. The platform ignores these headers; they
    let a trace, a log search or the local emulator tie a call to what caused it."""

    correlation_id: str | None = None
    job: str | None = None
    job_id: str | None = None

    def headers(self) -> dict[str, str]:
        """The labels as request headers, in ASCII whatever the job's name."""
        labels = {
            CORRELATION_HEADER: self.correlation_id,
            JOB_HEADER: self.job,
            JOB_ID_HEADER: self.job_id,
        }
        return {name: quote(value, safe=_SAFE_IN_HEADER) for name, value in labels.items() if value}


class CallOptions(TypedDict, total=False):
    """The keywords every client method takes besides its own arguments."""

    exchange_token: Secret | None
    deadline: Deadline | None
    labels: CallLabels | None
