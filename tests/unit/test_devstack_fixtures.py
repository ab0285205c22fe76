"""`make run` derives the local world from the app: every registered intent is invocable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack import stack
from devstack.intents import app_intents
from devstack.stack import Ports, emulator_command, local_fixtures
from emulator.world import load_world


def test_the_app_registers_the_shipped_commands():
    intents = app_intents()
    assert {"remember", "recall", "forget", "history", "vote"} <= set(intents)
    assert intents == sorted(intents)


def test_local_fixtures_give_every_app_intent_to_the_first_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stack, "STATE_DIR", tmp_path)
    path = local_fixtures(Ports(app=8123), ["remember", "VOTE", "brand-new", "Greet"])

    world = load_world(path)
    acme, globex = world.commands.values()
    assert acme.aliases[-2:] == ("brand-new", "Greet")  # Greet is Globex's, in another org
    assert [a.casefold() for a in acme.aliases].count("vote") == 1
    assert "remember" not in acme.aliases
    assert {c.url for c in world.commands.values()} == {"http://127.0.0.1:8123/dailybot"}
    assert world.commands_for_intent("BRAND-NEW") == [acme]
    assert globex.aliases == ()


def test_the_emulator_command_carries_the_clock_and_the_derived_fixtures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(stack, "STATE_DIR", tmp_path)
    args = emulator_command(Ports(emulator=8124, app=8125), ["brand-new"], "virtual")

    assert args[args.index("--clock") + 1] == "virtual"
    assert args[args.index("--port") + 1] == "8124"
    fixtures = json.loads(Path(args[args.index("--fixtures") + 1]).read_text())
    assert "brand-new" in fixtures["commands"][0]["aliases"]
