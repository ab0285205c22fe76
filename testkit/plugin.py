"""The pytest plugin: a `dailybot` fixture in every test, with no conftest lines.

Registered in `pyproject.toml` (`addopts = "-p testkit.plugin"`). Two ini options point it
elsewhere: `dailybot_fixtures` (the emulator fixtures file: organizations, users, commands,
API keys) and `dailybot_app` (the composition root module, `app` by default). A test
directory may also override the `dailybot_fixtures` fixture.

Each kit test fails if a log line written during it holds an API key, a signature or an
exchange token, and a failing kit test shows what the platform saw.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from testkit.deployment import Deployment
    from testkit.kit import Dailybot
    from testkit.world import KitWorld

# Nothing of the runtime is imported before a fixture needs it: this module loads before the
# session sets its environment and starts coverage (see `testkit/__init__.py`).
KIT: Final = pytest.StashKey["Dailybot"]()
DEPLOYMENT: Final = pytest.StashKey["Deployment"]()
WORLDS: Final = pytest.StashKey[dict[Path, "KitWorld"]]()
SECTION: Final = "what the Dailybot platform saw"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "dailybot_fixtures",
        "emulator fixtures file the `dailybot` fixture's platform starts from",
        default="",
    )
    parser.addini(
        "dailybot_app", "module of the Chalice app whose commands `dailybot` runs", default="app"
    )


@pytest.fixture
def dailybot_fixtures(pytestconfig: pytest.Config) -> Path:
    """The fixtures file of the kit's platform (override this fixture to use another)."""
    from testkit.world import DEFAULT_FIXTURES

    configured = str(pytestconfig.getini("dailybot_fixtures"))
    return pytestconfig.rootpath / configured if configured else DEFAULT_FIXTURES


@pytest.fixture
def dailybot(request: pytest.FixtureRequest, dailybot_fixtures: Path) -> Iterator[Dailybot]:
    """Dailybot and the deployment's runtime, in this process, on a fresh platform."""
    from testkit.kit import open_dailybot
    from testkit.log_audit import captured_logs, leaks

    deployment = _deployment(request.config)
    world = _world(request.config, deployment, dailybot_fixtures)
    with captured_logs() as logs, open_dailybot(deployment, world) as kit:
        request.node.stash[KIT] = kit
        try:
            yield kit
        finally:
            secrets = kit.secrets()
            del request.node.stash[KIT]
    if leaked := leaks(logs.getvalue(), secrets):
        # Says how many, never which: the failure message is output too.
        pytest.fail(
            f"{len(leaked)} secret(s) (API key, signature or exchange token) in this test's"
            " log lines",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    kit = item.stash.get(KIT, None)
    if kit is not None and report.when == "call" and report.failed:
        report.sections.append((SECTION, kit.describe()))
    return report


def _deployment(config: pytest.Config) -> Deployment:
    from testkit.deployment import Deployment

    if DEPLOYMENT not in config.stash:
        config.stash[DEPLOYMENT] = Deployment.from_module(str(config.getini("dailybot_app")))
    return config.stash[DEPLOYMENT]


def _world(config: pytest.Config, deployment: Deployment, fixtures: Path) -> KitWorld:
    from testkit.world import load_kit_world

    worlds = config.stash.setdefault(WORLDS, {})
    if fixtures not in worlds:
        worlds[fixtures] = load_kit_world(fixtures, deployment.registry.commands())
    return worlds[fixtures]
