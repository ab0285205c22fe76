"""The organizations that use this deployment's command: its installations.

A public command is used by people of other organizations, and there is no endpoint that
lists them: the deployment learns them from verified deliveries. The first delivery from an
organization records it (with the user whose token can act there, and when it was first and
last seen) in the deployment's own store, the one the delivery ledger uses (DynamoDB in AWS,
SQLite locally). A token refusal that says the command is not public there, or that the user
is gone, marks the installation so; a later delivery from a live user there repairs it.
`make sync` lists them to reconcile each one.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from chalicelib.dailybot.errors import CommandNotPublic, DailybotError, UserNotFound
from chalicelib.observability import logger
from chalicelib.runtime.idempotency.ledger import dynamodb_client
from chalicelib.settings import SettingsError

KEY_PREFIX: Final = "installation#"
"""Installations share the ledger's DynamoDB table under this key prefix; they never expire."""
BUSY_SECONDS: Final = 2.0


class InstallationsUnavailable(Exception):
    """The store of installations could not be read or written now."""


class Reach(StrEnum):
    """Whether the deployment can act in an organization, as far as it last saw."""

    ACTIVE = "active"
    NOT_PUBLIC = "not_public"  # a token refusal: the command is not public for this organization
    USER_GONE = "user_gone"  # a token refusal: the user it acted as is no longer there


@dataclass(frozen=True)
class Installation:
    organization_uuid: str
    user_uuid: str | None
    first_seen: float
    last_seen: float
    reach: Reach = Reach.ACTIVE
    detail: str = ""


def reach_of(error: DailybotError) -> Reach | None:
    """What a refused token fetch says of the organization, or None (another failure)."""
    if isinstance(error, CommandNotPublic):
        return Reach.NOT_PUBLIC
    if isinstance(error, UserNotFound):
        return Reach.USER_GONE
    return None


class Installations(ABC):
    """Where the installations are kept."""

    @abstractmethod
    def seen(self, organization_uuid: str, user_uuid: str | None, at: float) -> None:
        """A verified delivery from the organization: recorded (first seen kept, last seen
        now). With a user, that user acts there from now on and the installation is active
        again (a later delivery from a live user repairs one marked unreachable)."""

    @abstractmethod
    def mark(self, organization_uuid: str, reach: Reach, detail: str) -> None:
        """What a token refusal said of the organization."""

    @abstractmethod
    def get(self, organization_uuid: str) -> Installation | None: ...

    @abstractmethod
    def all(self) -> list[Installation]:
        """Every installation, oldest first (an operator's listing: `make sync`)."""


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS installations (
    organization_uuid TEXT PRIMARY KEY,
    user_uuid TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    reach TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
)
"""
_SEEN: Final = """
INSERT INTO installations (organization_uuid, user_uuid, first_seen, last_seen, reach)
VALUES (:organization, :user, :at, :at, 'active')
ON CONFLICT (organization_uuid) DO UPDATE SET
    last_seen = MAX(last_seen, :at),
    user_uuid = COALESCE(:user, user_uuid),
    reach = CASE WHEN :user IS NULL THEN reach ELSE 'active' END,
    detail = CASE WHEN :user IS NULL THEN detail ELSE '' END
"""


class SQLiteInstallations(Installations):
    """Installations in a table of the ledger's SQLite file, over one connection per process
    (a `:memory:` file is one database per connection)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SQLiteInstallations({str(self.path)!r})"

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._lock.acquire(timeout=BUSY_SECONDS):
            raise InstallationsUnavailable(f"{self!r}: busy in this process")
        try:
            if self._connection is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(
                    self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
                )
                connection.row_factory = sqlite3.Row
                connection.execute(_SCHEMA)
                self._connection = connection
            yield self._connection
        except (sqlite3.Error, OSError) as exc:
            raise InstallationsUnavailable(f"{self!r}: {exc}") from exc
        finally:
            self._lock.release()

    def seen(self, organization_uuid: str, user_uuid: str | None, at: float) -> None:
        with self._db() as db:
            db.execute(_SEEN, {"organization": organization_uuid, "user": user_uuid, "at": at})

    def mark(self, organization_uuid: str, reach: Reach, detail: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE installations SET reach = ?, detail = ? WHERE organization_uuid = ?",
                (str(reach), detail, organization_uuid),
            )

    def get(self, organization_uuid: str) -> Installation | None:
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM installations WHERE organization_uuid = ?", (organization_uuid,)
            ).fetchone()
        return None if row is None else _from_row(dict(row))

    def all(self) -> list[Installation]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM installations ORDER BY first_seen").fetchall()
        return [_from_row(dict(row)) for row in rows]


def _from_row(row: dict[str, Any]) -> Installation:
    return Installation(
        organization_uuid=str(row["organization_uuid"]),
        user_uuid=row["user_uuid"],
        first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]),
        reach=Reach(row["reach"]),
        detail=str(row.get("detail") or ""),
    )


class DynamoDBInstallations(Installations):
    """Installations as items of the ledger's DynamoDB table (`id` = `installation#<org>`).

    Each delivery's own work is a `GetItem` or an `UpdateItem` of its organization's item;
    only `all` (an operator's `make sync`) scans the table for the prefix.
    """

    def __init__(self, table: str, *, client: Callable[[], Any]) -> None:
        self.table = table
        self._open = client
        self._client: Any = None

    def __repr__(self) -> str:
        return f"DynamoDBInstallations({self.table!r})"

    @property
    def client(self) -> Any:
        """The DynamoDB client, made on first use."""
        if self._client is None:
            self._client = self._open()
        return self._client

    def _call(self, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self.client, operation)(TableName=self.table, **arguments)
        except Exception as exc:  # botocore's errors, whichever: the store is unavailable
            raise InstallationsUnavailable(f"{operation} on {self.table}: {exc}") from exc

    def seen(self, organization_uuid: str, user_uuid: str | None, at: float) -> None:
        sets = [
            "organization_uuid = :organization",
            "first_seen = if_not_exists(first_seen, :at)",
            "last_seen = :at",
            "reach = if_not_exists(reach, :active)",
        ]
        values: dict[str, Any] = {
            ":organization": {"S": organization_uuid},
            ":at": {"N": repr(at)},
            ":active": {"S": str(Reach.ACTIVE)},
        }
        if user_uuid is not None:
            sets[-1] = "reach = :active"
            sets += ["user_uuid = :user", "detail = :empty"]
            values |= {":user": {"S": user_uuid}, ":empty": {"S": ""}}
        self._call(
            "update_item",
            Key=_key(organization_uuid),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeValues=values,
        )

    def mark(self, organization_uuid: str, reach: Reach, detail: str) -> None:
        self._call(
            "update_item",
            Key=_key(organization_uuid),
            UpdateExpression="SET reach = :reach, detail = :detail",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":reach": {"S": str(reach)}, ":detail": {"S": detail}},
        )

    def get(self, organization_uuid: str) -> Installation | None:
        item = self._call("get_item", Key=_key(organization_uuid), ConsistentRead=True).get("Item")
        return None if item is None else _from_item(item)

    def all(self) -> list[Installation]:
        found: list[Installation] = []
        arguments: dict[str, Any] = {
            "FilterExpression": "begins_with(id, :prefix)",
            "ExpressionAttributeValues": {":prefix": {"S": KEY_PREFIX}},
        }
        while True:
            page = self._call("scan", **arguments)
            found += [_from_item(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return sorted(found, key=lambda installation: installation.first_seen)
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _key(organization_uuid: str) -> dict[str, Any]:
    return {"id": {"S": f"{KEY_PREFIX}{organization_uuid}"}}


def _from_item(item: dict[str, Any]) -> Installation:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    return _from_row(
        {
            "organization_uuid": text("organization_uuid"),
            "user_uuid": text("user_uuid"),
            "first_seen": item["first_seen"]["N"],
            "last_seen": item["last_seen"]["N"],
            "reach": text("reach") or str(Reach.ACTIVE),
            "detail": text("detail") or "",
        }
    )


class ActingUsers:
    """Who the deployment acts as in an organization when a delivery there names nobody (an
    event's job): the user its installation records, else the owner in the owner's
    organization. It also hears the broker's token refusals and marks the organization."""

    def __init__(
        self,
        installations: Installations,
        *,
        owner_uuid: str | None,
        owner_organization: str | None,
        on_mark: Callable[[str], None] = lambda organization: None,
    ) -> None:
        self._installations = installations
        self._owner_uuid = owner_uuid
        self._owner_organization = owner_organization
        self._on_mark = on_mark

    def __call__(self, organization_uuid: str) -> str | None:
        try:
            installation = self._installations.get(organization_uuid)
        except InstallationsUnavailable:
            logger.warning("could not read the organization's installation", exc_info=True)
            installation = None
        if installation is not None and installation.user_uuid is not None:
            return installation.user_uuid
        if self._owner_organization in (None, organization_uuid):
            return self._owner_uuid
        return None

    def refused(self, organization_uuid: str, user_uuid: str, error: DailybotError) -> None:
        reach = reach_of(error)
        if reach is None or not organization_uuid:
            return
        logger.warning(
            "the platform refused a token in this organization: %s",
            reach,
            extra={"organization_uuid": organization_uuid},
        )
        try:
            self._installations.mark(organization_uuid, reach, f"{user_uuid}: {error}")
        except InstallationsUnavailable:
            logger.warning("could not mark the organization's installation", exc_info=True)
        self._on_mark(organization_uuid)


def open_installations(store_url: str, *, dynamodb_endpoint: str | None = None) -> Installations:
    """The installations kept beside the ledger in the store an `IDEMPOTENCY_STORE` URL names."""
    if store_url.startswith("sqlite:///") and len(store_url) > len("sqlite:///"):
        return SQLiteInstallations(Path(store_url[len("sqlite:///") :]))
    if store_url.startswith("dynamodb://") and len(store_url) > len("dynamodb://"):
        table = store_url[len("dynamodb://") :]
        return DynamoDBInstallations(table, client=lambda: dynamodb_client(dynamodb_endpoint))
    raise SettingsError(
        f"IDEMPOTENCY_STORE must be dynamodb://TABLE or sqlite:///PATH, got {store_url!r}"
    )
