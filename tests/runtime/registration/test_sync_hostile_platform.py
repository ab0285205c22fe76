"""`make sync` against a hostile or broken platform, as a process over real HTTP.

The platform is `tests/hostile_server.py`: it answers escape sequences where a uuid or an
error detail belongs, 300 MB where a storage answer belongs, a byte at a time, or (standing
in for AWS's parameter store) nothing at all for longer than the command may take. Each time
the command prints only printable text, reads no more than its limit, ends by its deadline,
and exits 2 with one line on stderr that says what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.dailybot.answer_body import MAX_RESPONSE_BYTES
from chalicelib.runtime.registration.sync import EXIT_ERROR, EXIT_OK
from tests.hostile_server import Hostile, HostileServer
from tests.servers import ROOT

OWNER = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
ORGANIZATION = "11111111-1111-4111-8111-111111111111"
API_KEY = "hostile-api-key-0001"
TOKEN = "POST /v1/auth/fetch-command-exchange-token/"
STORAGE = "POST /v1/platform/storage/"
SCHEDULING = "POST /v1/platform/scheduling/"
HOOK = "POST /v1/platform/event-subscription/"
ESCAPES = "\x1b[2J\x1b]0;owned\x07\u202e"
# What the kernel may hold beyond what the reader took: both ends' socket buffers.
SOCKET_BUFFERS = 32 * 2**20


@dataclass(frozen=True)
class Finished:
    status: int
    out: str
    err: str
    seconds: float


@pytest.fixture
def platform() -> Iterator[HostileServer]:
    with HostileServer() as server:
        server.routes[TOKEN] = Hostile.json({"token": "hostile-exchange-token-0001"})
        server.routes[STORAGE] = Hostile.json({})
        yield server


def sync(platform: HostileServer, tmp_path: Path, *args: str, **env: str) -> Finished:
    """`python app.py sync ARGS` against `platform`; its output and how long it took."""
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    settings = {
        **os.environ,
        "DAILYBOT_API_URL": f"{platform.origin}/v1/",
        "DAILYBOT_API_KEY": API_KEY,
        "DAILYBOT_OWNER_UUID": OWNER,
        "DAILYBOT_OWNER_ORGANIZATION": ORGANIZATION,
        "DAILYBOT_PUBLIC_URL": "http://127.0.0.1:8999/dailybot",
        "IDEMPOTENCY_STORE": f"sqlite:///{tmp_path / 'idempotency.sqlite3'}",
        **env,
    }
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "app.py", "sync", *args],
            cwd=ROOT,
            env=settings,
            stdout=stdout,
            stderr=stderr,
        )
        status = child.wait(timeout=120)
    return Finished(status, out.read_text(), err.read_text(), time.monotonic() - started)


def _only_printable(text: str) -> bool:
    return all(line.isprintable() for line in text.splitlines())


def test_escape_sequences_in_returned_uuids_are_printed_escaped(
    platform: HostileServer, tmp_path: Path
) -> None:
    platform.routes[SCHEDULING] = Hostile.json({"uuid": f"sched-{ESCAPES}"})
    platform.routes[HOOK] = Hostile.json({"hook_uuid": f"hook-{ESCAPES}"})

    done = sync(platform, tmp_path)

    assert (done.status, done.err) == (EXIT_OK, "")
    assert _only_printable(done.out)
    assert "(uuid sched-\\x1b[2J\\x1b]0;owned\\x07\\u202e; declared" in done.out
    assert "(hook hook-\\x1b[2J" in done.out


def test_escape_sequences_in_an_error_are_printed_escaped_on_one_line(
    platform: HostileServer, tmp_path: Path
) -> None:
    refusal = {"detail": f"no{ESCAPES}\nTraceback: fake"}
    platform.routes[TOKEN] = Hostile(json.dumps(refusal).encode(), status=403)

    done = sync(platform, tmp_path)

    assert done.status == EXIT_ERROR
    assert done.err.count("\n") == 1
    assert done.err.startswith("sync: error: the platform refused DAILYBOT_API_KEY")
    assert _only_printable(done.err)
    assert "no\\x1b[2J" in done.err


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_300_megabyte_answer_is_not_read_whole(
    platform: HostileServer, tmp_path: Path, declare_length: bool
) -> None:
    platform.routes[STORAGE] = Hostile.huge(300, declare_length=declare_length)

    done = sync(platform, tmp_path)

    assert done.status == EXIT_ERROR
    assert done.err == (
        f"sync: error: organization {ORGANIZATION}: POST platform/storage/: the answer is"
        f" longer than {MAX_RESPONSE_BYTES:,} bytes; not read further\n"
    )
    # About the limit was read, plus what the socket buffers took; never the 300 MB, so the
    # command never held it. (Its peak memory, as the kernel reports it, also counts what a
    # forked child shares with its parent before it runs Python: no bound to assert on.)
    assert platform.sent[STORAGE] < MAX_RESPONSE_BYTES + SOCKET_BUFFERS, platform.sent[STORAGE]


def test_a_trickling_answer_ends_at_the_deadline(platform: HostileServer, tmp_path: Path) -> None:
    # A byte every 50 ms of a 100 kB answer: 80 minutes, each wait well inside the timeouts.
    platform.routes[STORAGE] = Hostile.trickle(100_000, 0.05)

    done = sync(platform, tmp_path, "--timeout", "2")

    assert done.status == EXIT_ERROR
    assert done.err.count("\n") == 1
    assert done.err.startswith("sync: error: not finished within its 2 s deadline (--timeout): ")
    assert "the answer was still arriving at the deadline" in done.err
    assert platform.sent[STORAGE] < 1000


def test_a_wait_outside_the_platform_client_still_ends_at_the_deadline(
    platform: HostileServer, tmp_path: Path
) -> None:
    # The API key is read from AWS's parameter store, which answers the headers and then
    # nothing for a minute: botocore would wait for it, the command does not.
    platform.routes["POST /"] = Hostile(b"{}", pause=60)

    done = sync(
        platform,
        tmp_path,
        "--timeout",
        "2",
        DAILYBOT_API_KEY="",
        DAILYBOT_API_KEY_PARAMETER="/hostile/api-key",
        AWS_ENDPOINT_URL_SSM=platform.origin,
    )

    assert done.status == EXIT_ERROR
    assert done.err == (
        "sync: error: not finished within its 2 s deadline (--timeout): still waiting."
        " What was applied stays recorded; run it again to finish\n"
    )
    assert platform.requests == ["POST /"]
    assert done.seconds < 30  # the minute-long wait was cut short


def test_the_deadline_must_be_a_positive_number(platform: HostileServer, tmp_path: Path) -> None:
    for bad in ("0", "-1", "soon", "inf"):
        done = sync(platform, tmp_path, "--timeout", bad)

        assert done.status == 2
        assert "--timeout" in done.err
        assert platform.requests == []
