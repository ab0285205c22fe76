"""The installations store, on SQLite and on DynamoDB through moto's server: recorded on a
first delivery, first seen kept, last seen moved, marked by a refusal, repaired by a live
user, listed for `make sync`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from chalicelib.dailybot.errors import CommandNotPublic, ServerError, UserNotFound
from chalicelib.runtime.idempotency.ledger import open_store
from chalicelib.runtime.registration.installations import (
    ActingUsers,
    DynamoDBInstallations,
    Installations,
    InstallationsUnavailable,
    Reach,
    open_installations,
    reach_of,
)
from tests.servers import moto_server

ACME = "11111111-1111-4111-8111-111111111111"
GLOBEX = "22222222-2222-4222-8222-222222222222"
JANE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
KIM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
LEE = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "dynamodb"])
def installations(request: pytest.FixtureRequest, tmp_path: Path, endpoint: str) -> Installations:
    if request.param == "sqlite":
        return open_installations(f"sqlite:///{tmp_path / 'idempotency.sqlite3'}")
    table = f"installations-{tmp_path.name}"[:200]
    boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1").create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return open_installations(f"dynamodb://{table}", dynamodb_endpoint=endpoint)


def test_a_first_delivery_records_an_organization_and_later_ones_move_its_last_seen(
    installations: Installations,
) -> None:
    installations.seen(ACME, JANE, 100.0)
    installations.seen(ACME, None, 200.0)  # an event: no user, the user stays

    acme = installations.get(ACME)
    assert acme is not None
    assert (acme.user_uuid, acme.first_seen, acme.last_seen, acme.reach) == (
        JANE,
        100.0,
        200.0,
        Reach.ACTIVE,
    )
    assert installations.get(GLOBEX) is None


def test_a_refusal_marks_it_and_a_live_user_repairs_it(installations: Installations) -> None:
    installations.seen(GLOBEX, KIM, 1.0)
    installations.mark(GLOBEX, Reach.USER_GONE, "Kim left")
    marked = installations.get(GLOBEX)
    assert marked is not None
    assert (marked.reach, marked.detail) == (Reach.USER_GONE, "Kim left")

    installations.seen(GLOBEX, None, 2.0)  # no user: still unreachable
    still = installations.get(GLOBEX)
    assert still is not None
    assert still.reach is Reach.USER_GONE

    installations.seen(GLOBEX, LEE, 3.0)
    repaired = installations.get(GLOBEX)
    assert repaired is not None
    assert (repaired.user_uuid, repaired.reach, repaired.detail) == (LEE, Reach.ACTIVE, "")


def test_every_installation_is_listed_oldest_first(installations: Installations) -> None:
    installations.seen(GLOBEX, KIM, 20.0)
    installations.seen(ACME, JANE, 10.0)

    assert [i.organization_uuid for i in installations.all()] == [ACME, GLOBEX]


def test_acting_users_come_from_the_installation_else_the_owner_in_the_owner_s_organization(
    installations: Installations,
) -> None:
    marked: list[str] = []
    acting = ActingUsers(
        installations, owner_uuid=JANE, owner_organization=ACME, on_mark=marked.append
    )
    installations.seen(GLOBEX, KIM, 1.0)

    assert acting(GLOBEX) == KIM
    assert acting(ACME) == JANE  # nothing recorded: the owner, in the owner's organization
    assert acting("33333333-3333-4333-8333-333333333333") is None

    acting.refused(GLOBEX, KIM, CommandNotPublic("Command is not Public"))
    acting.refused(GLOBEX, KIM, ServerError("a 500 says nothing of the organization"))

    globex = installations.get(GLOBEX)
    assert globex is not None
    assert globex.reach is Reach.NOT_PUBLIC
    assert marked == [GLOBEX]


def test_what_a_refusal_says_of_an_organization() -> None:
    assert reach_of(CommandNotPublic("x")) is Reach.NOT_PUBLIC
    assert reach_of(UserNotFound("x")) is Reach.USER_GONE
    assert reach_of(ServerError("x")) is None


def test_an_unreachable_store_is_its_own_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    with pytest.raises(InstallationsUnavailable):
        open_installations(f"sqlite:///{blocker / 'x.sqlite3'}").get(ACME)


def test_the_installations_and_the_ledger_share_one_dynamodb_client(endpoint: str) -> None:
    """A second client of the same session would cost a cold start some 15 ms."""
    installations = open_installations("dynamodb://shared", dynamodb_endpoint=endpoint)
    store = open_store("dynamodb://shared", dynamodb_endpoint=endpoint)

    assert isinstance(installations, DynamoDBInstallations)
    assert installations.client is store.client
