"""The world the emulator knows, read from a fixtures file: organizations, users, commands, keys.

An invalid file stops start-up with a ``FixtureError`` that names the bad entry.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FETCH_TOKEN_SCOPE = "AUTH_FETCH_EXCHANGE_TOKEN"  # noqa: S105 (a scope name)

SECTIONS = ("organizations", "users", "commands", "api_keys")

T = TypeVar("T")


class FixtureError(ValueError):
    """The fixtures file cannot describe a usable world."""


@dataclass(frozen=True)
class Organization:
    uuid: str
    name: str
    timezone: str


@dataclass(frozen=True)
class User:
    uuid: str
    organization_uuid: str
    full_name: str
    timezone: str


@dataclass(frozen=True)
class Command:
    uuid: str
    organization_uuid: str
    intent: str
    url: str
    signature: str = field(repr=False)  # a secret: keep it out of logs and reprs
    is_public: bool
    aliases: tuple[str, ...] = ()

    @property
    def intents(self) -> tuple[str, ...]:
        return (self.intent, *self.aliases)


@dataclass(frozen=True)
class ApiKey:
    key: str = field(repr=False)  # a secret: keep it out of logs and reprs
    organization_uuid: str
    command_uuid: str
    scopes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class World:
    organizations: dict[str, Organization]
    users: dict[str, User]
    commands: dict[str, Command]
    api_keys: dict[str, ApiKey] = field(repr=False)  # keyed by the secret keys

    def users_of(self, organization_uuid: str) -> list[User]:
        return [u for u in self.users.values() if u.organization_uuid == organization_uuid]

    def commands_for_intent(self, intent: str) -> list[Command]:
        """The commands answering ``intent``; intents match case-insensitively, as on Dailybot."""
        wanted = intent_key(intent)
        return [c for c in self.commands.values() if wanted in map(intent_key, c.intents)]

    def intents_of(self, organization_uuid: str | None = None) -> list[str]:
        """Every intent (aliases included) of one organization, or of all of them, sorted."""
        return sorted(
            {
                intent
                for command in self.commands.values()
                if organization_uuid in (None, command.organization_uuid)
                for intent in command.intents
            }
        )


def intent_key(intent: str) -> str:
    """How intents compare: without surrounding blanks and case-insensitively."""
    return intent.strip().casefold()


def load_world(path: Path) -> World:
    """Read and validate a fixtures file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"cannot read fixtures file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise FixtureError(f"fixtures file {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise FixtureError("fixtures file must hold a JSON object")
    return build_world(raw)


def build_world(raw: dict[str, Any]) -> World:
    # A misspelt section would otherwise silently leave the world without commands or keys.
    for section in raw:
        if section not in SECTIONS:
            raise FixtureError(f"{section}: unknown section (expected {', '.join(SECTIONS)})")
    organizations = {
        o.uuid: o for o in _entries(raw, "organizations", _organization, lambda o: o.uuid)
    }
    users = {u.uuid: u for u in _entries(raw, "users", _user, lambda u: u.uuid)}
    commands = {c.uuid: c for c in _entries(raw, "commands", _command, lambda c: c.uuid)}
    api_keys = {k.key: k for k in _entries(raw, "api_keys", _api_key, lambda k: k.key)}
    world = World(organizations, users, commands, api_keys)
    _check_references(world)
    return world


def _entries(
    raw: dict[str, Any],
    section: str,
    parse: Callable[[dict[str, Any]], T],
    identity: Callable[[T], str],
) -> list[T]:
    items = raw.get(section, [])
    if not isinstance(items, list):
        raise FixtureError(f"{section}: must be a list")
    parsed: list[T] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{section}[{index}]"
        if not isinstance(item, dict):
            raise FixtureError(f"{where}: must be an object")
        try:
            entry = parse(item)
        except FixtureError as exc:
            raise FixtureError(f"{where}: {exc}") from exc
        ident = identity(entry)
        if ident in seen:
            raise FixtureError(f"{where}: duplicate entry")
        seen.add(ident)
        parsed.append(entry)
    return parsed


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FixtureError(f"'{name}' must be a non-empty string")
    return value


def _uuid(item: dict[str, Any], name: str) -> str:
    value = _text(item, name)
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise FixtureError(f"'{name}' is not a UUID: {value!r}") from exc


def _zone(item: dict[str, Any]) -> str:
    value = _text(item, "timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FixtureError(f"unknown timezone {value!r}") from exc
    return value


def _organization(item: dict[str, Any]) -> Organization:
    return Organization(_uuid(item, "uuid"), _text(item, "name"), _zone(item))


def _user(item: dict[str, Any]) -> User:
    return User(
        _uuid(item, "uuid"),
        _uuid(item, "organization_uuid"),
        _text(item, "full_name"),
        _zone(item),
    )


def _command(item: dict[str, Any]) -> Command:
    url = _text(item, "url")
    if not url.startswith(("http://", "https://")):
        raise FixtureError(f"'url' must be an http(s) URL: {url!r}")
    aliases = item.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise FixtureError("'aliases' must be a list of non-empty strings")
    is_public = item.get("is_public", False)
    if not isinstance(is_public, bool):
        raise FixtureError("'is_public' must be true or false")
    return Command(
        uuid=_uuid(item, "uuid"),
        organization_uuid=_uuid(item, "organization_uuid"),
        intent=_text(item, "intent"),
        url=url,
        signature=_text(item, "signature"),
        is_public=is_public,
        aliases=tuple(aliases),
    )


def _api_key(item: dict[str, Any]) -> ApiKey:
    scopes = item.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise FixtureError("'scopes' must be a list of strings")
    return ApiKey(
        _text(item, "key"),
        _uuid(item, "organization_uuid"),
        _uuid(item, "command_uuid"),
        frozenset(scopes),
    )


def _check_references(world: World) -> None:
    """Cross-section checks; entries are named by their index, as in the file."""
    for index, user in enumerate(world.users.values()):
        if user.organization_uuid not in world.organizations:
            raise FixtureError(f"users[{index}]: unknown organization {user.organization_uuid}")
    intents: dict[tuple[str, str], str] = {}
    for index, command in enumerate(world.commands.values()):
        where = f"commands[{index}]"
        if command.organization_uuid not in world.organizations:
            raise FixtureError(f"{where}: unknown organization {command.organization_uuid}")
        for intent in command.intents:
            owner = intents.setdefault(
                (command.organization_uuid, intent_key(intent)), command.uuid
            )
            if owner != command.uuid:
                raise FixtureError(f"{where}: intent {intent!r} already used in its organization")
    for index, key in enumerate(world.api_keys.values()):
        owner_command = world.commands.get(key.command_uuid)
        if owner_command is None:
            raise FixtureError(f"api_keys[{index}]: unknown command {key.command_uuid}")
        if key.organization_uuid != owner_command.organization_uuid:
            raise FixtureError(f"api_keys[{index}]: command belongs to another organization")
