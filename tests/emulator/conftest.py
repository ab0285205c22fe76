"""Fixtures for the emulator's tests: the real server as a subprocess, and a command receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.emulator_process import (
    CommandReceiver,
    EmulatorProcess,
    fixtures_pointing_to,
    running_receiver,
    start_emulator,
)
from tests.servers import free_port


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One shared emulator (virtual clock) for tests that do not depend on a clean world."""
    handle = start_emulator(tmp_path_factory.mktemp("emulator"))
    yield handle
    handle.stop()


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Any]:
    """Start emulators for one test; all of them are stopped at its end."""
    started: list[EmulatorProcess] = []

    def start(**options: Any) -> EmulatorProcess:
        handle = start_emulator(tmp_path, **options)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def command_receiver() -> Iterator[CommandReceiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def unreachable_fixtures(tmp_path: Path) -> Path:
    """The default fixtures with both commands at a port nothing listens on."""
    return fixtures_pointing_to(f"http://127.0.0.1:{free_port()}", tmp_path)


@pytest.fixture
def wired_emulator(
    command_receiver: CommandReceiver, emulator_factory: Any, tmp_path: Path
) -> EmulatorProcess:
    """A fresh emulator (virtual clock) whose commands call ``command_receiver``."""
    handle: EmulatorProcess = emulator_factory(
        fixtures=fixtures_pointing_to(command_receiver.url, tmp_path)
    )
    return handle
