"""A kit opened while another is open: each serves its own deliveries, platform and jobs.

The app's runtime container is one per process, so a second kit used to replace the first
one's runtime: the outer kit's invocations wrote into the inner kit's platform, then got
`503 not_configured` once the inner kit closed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.observability import redactor
from chalicelib.runtime import Context
from chalicelib.runtime.registry import CommandRegistry
from testkit import Dailybot, open_dailybot
from testkit.deployment import Deployment
from testkit.world import DEFAULT_FIXTURES, load_kit_world


def test_a_kit_opened_inside_the_fixture_leaves_the_fixture_its_own(dailybot: Dailybot) -> None:
    deployment = Deployment.from_module("app")
    world = load_kit_world(DEFAULT_FIXTURES, deployment.registry.commands())
    assert dailybot.invoke("remember color blue").message == "Got it: *color* is `blue`."

    with open_dailybot(deployment, world) as inner:
        assert inner.invoke("remember color green").message == "Got it: *color* is `green`."
        assert dailybot.invoke("remember size large").message == "Got it: *size* is `large`."
        assert inner.invoke("recall color").message == "*color* is `green`."
        assert dict(inner.storage) == {"color": "green"}

    # The inner kit has closed; the outer one still runs, on its own platform.
    assert dailybot.invoke("recall color").message == "*color* is `blue`."
    assert dict(dailybot.storage) == {"color": "blue", "size": "large"}
    assert [d.status for d in dailybot.deliveries] == [200] * 3


def test_two_kits_run_different_registries_side_by_side(dailybot: Dailybot) -> None:
    commands = CommandRegistry()

    @commands.command("echo")
    def echo(ctx: Context) -> str:
        return ctx.text

    deployment = Deployment.from_module("app").with_registry(commands)
    with open_dailybot(deployment, load_kit_world(DEFAULT_FIXTURES, commands.commands())) as own:
        assert own.invoke("echo hello").message == "hello"
        assert dailybot.invoke("vote").message.startswith("*")
        assert [d.status for d in own.deliveries] == [200]

    assert dailybot.invoke("vote yes").message == "You voted *yes*."


def test_each_open_kits_secrets_stay_scrubbed_from_logs(tmp_path: Path) -> None:
    fixtures = tmp_path / "other-world.json"
    fixtures.write_text(
        DEFAULT_FIXTURES.read_text()
        .replace("testkit-api-key-acme-000a", "other-kit-api-key-0000b")
        .replace("testkit-signature-acme-000a", "other-kit-signature-000b")
    )
    deployment = Deployment.from_module("app")
    commands = deployment.registry.commands()
    line = "testkit-api-key-acme-000a other-kit-api-key-0000b"

    with open_dailybot(deployment, load_kit_world(DEFAULT_FIXTURES, commands)):
        with open_dailybot(deployment, load_kit_world(fixtures, commands)) as inner:
            assert inner.invoke("vote").message
            assert redactor.redact(line).count("testkit-api-key") == 0
            assert redactor.redact(line).count("other-kit-api-key") == 0
        # The inner kit has closed: the outer kit's key is still scrubbed.
        assert "testkit-api-key-acme-000a" not in redactor.redact(line)


def test_a_nested_kit_in_a_test_session_of_its_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from testkit import open_dailybot
        from testkit.deployment import Deployment
        from testkit.world import DEFAULT_FIXTURES, load_kit_world

        def test_nested(dailybot):
            deployment = Deployment.from_module("app")
            world = load_kit_world(DEFAULT_FIXTURES, deployment.registry.commands())
            with open_dailybot(deployment, world) as inner:
                inner.invoke("remember color green")
                dailybot.invoke("remember color blue")
            assert dailybot.invoke("recall color").message == "*color* is `blue`."
            assert dict(dailybot.storage) == {"color": "blue"}
        """
    )

    result = pytester.runpytest_inprocess("-p", "testkit.plugin")

    result.assert_outcomes(passed=1)
