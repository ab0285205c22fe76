"""Users added while the emulator runs ("start as a new user"), besides the fixtures' own.

A new user belongs to one organization, has its time zone and a fresh uuid, so the command
meets them for the first time: no storage of their own, no history. They are kept in the
database (and in an exported state), so they survive a restart.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from emulator.database import Database
from emulator.world import User, World


def with_added_users(world: World, database: Database) -> World:
    """``world`` with the users added earlier (a copy: the fixtures' world stays as it was)."""
    users = dict(world.users)
    for row in database.all("SELECT * FROM users ORDER BY rowid"):
        if row["organization_uuid"] in world.organizations:
            users[row["uuid"]] = User(
                row["uuid"], row["organization_uuid"], row["full_name"], row["timezone"]
            )
    return replace(world, users=users)


def added_user_ids(database: Database) -> set[str]:
    return {row["uuid"] for row in database.all("SELECT uuid FROM users")}


def add_user(
    world: World, database: Database, organization_uuid: str, full_name: str | None = None
) -> User:
    """A new user of ``organization_uuid`` (named ``New user N`` unless named)."""
    organization = world.organizations[organization_uuid]
    count = database.one(
        "SELECT COUNT(*) AS n FROM users WHERE organization_uuid = ?", (organization_uuid,)
    )
    number = 1 + (0 if count is None else int(count["n"]))
    user = User(
        str(uuid.uuid4()),
        organization_uuid,
        full_name or f"New user {number}",
        organization.timezone,
    )
    database.execute(
        "INSERT INTO users (uuid, organization_uuid, full_name, timezone) VALUES (?, ?, ?, ?)",
        (user.uuid, user.organization_uuid, user.full_name, user.timezone),
    )
    world.users[user.uuid] = user
    return user
