"""The log audit itself: it must notice a secret in a log line or in a server's log file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from chalicelib.observability import logger
from tests.conftest import known_secrets
from tests.runtime.log_audit import audit_logs, leaks

# Not a fixture value: the session-wide audit must not see it as a leak.
PROBE = "audit-probe-value-5e1d"


def _run(secrets: tuple[str, ...], log_dir: Path, line: str) -> None:
    audit = audit_logs(secrets, lambda: [log_dir])
    next(audit)
    logger.info(line)
    logging.getLogger("some.library").warning(line)
    with pytest.raises(StopIteration):
        next(audit)


def test_a_clean_session_passes(tmp_path: Path) -> None:
    (tmp_path / "server.log").write_text("nothing to see\n")

    _run((PROBE,), tmp_path, "an ordinary line")


def test_a_secret_in_a_log_line_fails_the_session(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="test process") as failed:
        _run((f"{PROBE}-line",), tmp_path, f"oops {PROBE}-line")

    assert PROBE not in str(failed.value)


def test_a_secret_in_a_server_log_fails_the_session(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "chalice-local-8000.log").write_text(f"header {PROBE}-file\n")

    with pytest.raises(pytest.fail.Exception, match=r"chalice-local-8000\.log"):
        _run((f"{PROBE}-file",), tmp_path, "clean")


def test_the_known_secrets_cover_every_fixture() -> None:
    secrets = known_secrets()

    assert "test-api-key-0001" in secrets
    assert "local-api-key-acme-0001" in secrets
    assert "local-signature-globex-0002" in secrets
    assert all(len(secret) >= 12 for secret in secrets)
    assert leaks("a  b", ["", "b"]) == ["b"]
