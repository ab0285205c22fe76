"""The world a kit test runs in: a fixtures file, completed with the deployment's intents.

The fixtures file has the emulator's format (organizations, users, commands, API keys). The
deployment is the command of the first API key that may fetch exchange tokens; every intent
the deployment registers and its organization does not answer yet becomes an alias of that
command, so a new command module is invocable in tests without editing the fixtures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from emulator.world import FETCH_TOKEN_SCOPE, Command, FixtureError, World, build_world

DEFAULT_FIXTURES: Final = Path(__file__).resolve().parent / "fixtures" / "default.json"


class KitError(Exception):
    """The kit cannot do what a test asked; the message says what the platform saw."""


@dataclass(frozen=True)
class User:
    """A person of the fixtures, as `invoke(..., user=...)` takes them."""

    uuid: str
    full_name: str
    organization_uuid: str
    timezone: str


@dataclass(frozen=True)
class KitWorld:
    """The emulator's world plus what the kit needs to know about the deployment in it."""

    world: World
    command: Command
    api_key: str = field(repr=False)
    users: tuple[User, ...]

    @property
    def default_user(self) -> User:
        """The first user of the deployment's organization: who types when nobody is named."""
        return next(u for u in self.users if u.organization_uuid == self.command.organization_uuid)

    def user(self, who: User | str | None) -> User:
        """`who` as a fixture user (None: the default one); a uuid or a full name work too."""
        if who is None:
            return self.default_user
        if isinstance(who, User):
            return who
        for user in self.users:
            if who in (user.uuid, user.full_name):
                return user
        raise KitError(
            f"no fixture user {who!r}; the users are {[u.full_name for u in self.users]}"
        )

    def secrets(self) -> tuple[str, ...]:
        """Every API key and signature of the world (what no log line may hold)."""
        keys = tuple(self.world.api_keys)
        return (*keys, *(command.signature for command in self.world.commands.values()))


def load_kit_world(path: Path, intents: Iterable[str]) -> KitWorld:
    """Reads `path`, makes the deployment's command answer `intents`, and checks it all."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KitError(f"cannot read the kit's fixtures {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise KitError(f"the kit's fixtures {path} must hold a JSON object")
    api_key = _deployment_key(raw, path)
    _answer_intents(raw, api_key["command_uuid"], intents)
    try:
        world = build_world(raw)
    except FixtureError as exc:
        raise KitError(f"invalid fixtures {path}: {exc}") from exc
    command = world.commands[str(api_key["command_uuid"])]
    users = tuple(
        User(u.uuid, u.full_name, u.organization_uuid, u.timezone) for u in world.users.values()
    )
    if not any(u.organization_uuid == command.organization_uuid for u in users):
        raise KitError(f"{path}: the deployment's organization has no users")
    return KitWorld(world, command, str(api_key["key"]), users)


def _deployment_key(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    for key in raw.get("api_keys") or []:
        if isinstance(key, dict) and FETCH_TOKEN_SCOPE in (key.get("scopes") or []):
            return key
    raise KitError(f"{path}: no API key has the {FETCH_TOKEN_SCOPE} scope the runtime needs")


def _answer_intents(raw: dict[str, Any], command_uuid: str, intents: Iterable[str]) -> None:
    commands = [c for c in raw.get("commands") or [] if isinstance(c, dict)]
    deployment = next((c for c in commands if c.get("uuid") == command_uuid), None)
    if deployment is None:
        return  # build_world names the key's unknown command
    organization = deployment.get("organization_uuid")
    answered = {
        intent
        for command in commands
        if command.get("organization_uuid") == organization
        for intent in [command.get("intent"), *(command.get("aliases") or [])]
    }
    missing = sorted(set(intents) - answered)
    deployment["aliases"] = [*(deployment.get("aliases") or []), *missing]
