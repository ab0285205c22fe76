"""A public command's event hook is per organization; an older database file is brought along."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from emulator.database import Database

OLD_HOOKS = """
CREATE TABLE hooks (
    uuid INTEGER PRIMARY KEY AUTOINCREMENT, command_uuid TEXT NOT NULL UNIQUE,
    organization_uuid TEXT NOT NULL, user_uuid TEXT NOT NULL, subscriptions TEXT NOT NULL,
    subscribed_objects TEXT NOT NULL
);
"""


def test_an_older_file_s_hooks_are_kept_and_become_per_organization(tmp_path: Path) -> None:
    path = tmp_path / "emulator.db"
    with sqlite3.connect(path) as old:
        old.executescript(OLD_HOOKS)
        old.execute(
            "INSERT INTO hooks (command_uuid, organization_uuid, user_uuid, subscriptions,"
            " subscribed_objects) VALUES ('c1', 'acme', 'jane', '[]', '[]')"
        )
    old.close()

    database = Database(str(path))
    try:
        database.insert(
            "INSERT INTO hooks (command_uuid, organization_uuid, user_uuid, subscriptions,"
            " subscribed_objects) VALUES ('c1', 'globex', 'kim', '[]', '[]')"
        )
        rows = database.all("SELECT uuid, command_uuid, organization_uuid FROM hooks ORDER BY 1")
    finally:
        database.close()

    assert [(r["uuid"], r["command_uuid"], r["organization_uuid"]) for r in rows] == [
        (1, "c1", "acme"),
        (2, "c1", "globex"),
    ]
