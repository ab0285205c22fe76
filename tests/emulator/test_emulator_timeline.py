"""Follow-ups under the invocation that deferred them: the emulator's side of the correlation
headers, and the timeline built from them.

The receiver plays the runtime: it answers each delivery with `X-Correlation-Id`, and the test
then makes the platform calls a job would make, with the correlation headers the runtime sends
(`X-Correlation-Id`, `X-Dailybot-Job`, `X-Dailybot-Job-Id`).
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.emulator.emulator_process import EmulatorProcess, as_user
from tests.emulator.emulator_world import ACME, GLOBEX, JANE, JOHN


def hex16() -> str:
    return secrets.token_hex(8)


def answered_with(receiver: Any, correlation: str) -> None:
    receiver.answer_headers = {"X-Correlation-Id": correlation}


def job_headers(user: dict[str, str], correlation: str, job: str | None = None) -> dict[str, str]:
    headers = {**user, "X-Correlation-Id": correlation}
    if job is not None:
        headers |= {"X-Dailybot-Job": job, "X-Dailybot-Job-Id": hex16()}
    return headers


def conversation(http: httpx.Client, user: str = JANE, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(
        "/_emulator/timeline", params={"organization_uuid": ACME, "user_uuid": user, **params}
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def test_a_follow_up_is_listed_under_the_invocation_that_deferred_it_with_its_job(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    report, remember = hex16(), hex16()
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        answered_with(command_receiver, report)
        invoked = http.post("/_emulator/invoke", json={"intent": "report", "query": "q3"}).json()
        answered_with(command_receiver, remember)
        http.post("/_emulator/invoke", json={"intent": "remember", "query": "color blue"})
        # The job runs after both replies: its calls carry the first delivery's id.
        job = job_headers(jane, report, "build-report")
        http.get("/v1/platform/activity/", headers=job)
        http.post("/v1/send-message/", headers=job, json={"message": "*Report for q3*: 2 uses"})
        items = conversation(http)

    assert invoked["correlation_id"] == report
    assert [(i["kind"], i["subject"]) for i in items] == [
        ("invocation", "report"),
        ("invocation", "remember"),
    ]
    [run] = items[0]["runs"]
    assert run["delivery_id"] == invoked["delivery_id"]
    assert run["query"] == "q3"
    [follow_up] = run["follow_ups"]
    assert follow_up["job"] == "build-report"
    assert follow_up["message"] == "*Report for q3*: 2 uses"
    assert follow_up["offset_ms"] >= 0
    assert [(c["summary"], c["job"]) for c in run["calls"]] == [
        ("list activity", "build-report"),
        ("send message '*Report for q3*: 2 uses'", "build-report"),
    ]
    assert items[1]["runs"][0]["follow_ups"] == []


def test_a_job_deferred_by_a_job_stays_under_the_original_invocation(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    origin = hex16()
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        answered_with(command_receiver, origin)
        http.post("/_emulator/invoke", json={"intent": "report"})
        http.post(
            "/v1/send-message/",
            headers=job_headers(jane, origin, "build-report"),
            json={"message": "first"},
        )
        http.post(
            "/v1/send-message/",
            headers=job_headers(jane, origin, "send-digest"),
            json={"message": "second"},
        )
        [item] = conversation(http)

    assert [(m["job"], m["message"]) for m in item["runs"][0]["follow_ups"]] == [
        ("build-report", "first"),
        ("send-digest", "second"),
    ]


def test_a_stale_follow_up_goes_under_its_own_invocation_not_the_latest(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    earlier, later = hex16(), hex16()
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        answered_with(command_receiver, earlier)
        http.post("/_emulator/invoke", json={"intent": "report"})
        answered_with(command_receiver, later)
        http.post("/_emulator/invoke", json={"intent": "history"})
        http.post(
            "/v1/send-message/",
            headers=job_headers(jane, earlier, "build-report"),
            json={"message": "late"},
        )
        items = conversation(http)
        newer_only = conversation(http, after=items[0]["seq"])

    assert [m["message"] for m in items[0]["runs"][0]["follow_ups"]] == ["late"]
    assert items[-1]["subject"] == "history"
    assert items[-1]["runs"][0]["follow_ups"] == []
    # A conversation started after the report never shows its follow-up.
    assert [i["subject"] for i in newer_only] == ["history"]
    assert newer_only[0]["runs"][0]["follow_ups"] == []


def test_a_follow_up_without_headers_or_of_an_unknown_delivery_is_shown_unlinked(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post("/v1/send-message/", headers=jane, json={"message": "plain"})
        http.post(
            "/v1/send-message/",
            headers=job_headers(jane, hex16(), "build-report"),
            json={"message": "from a session the emulator never saw"},
        )
        http.post(
            "/v1/send-message/",
            headers={**jane, "X-Correlation-Id": "NOT-AN-ID", "X-Dailybot-Job": "<b>x</b>"},
            json={"message": "bad headers are ignored"},
        )
        items = conversation(http)
        calls = http.get("/_emulator/inspector", params={"kind": "platform_call"}).json()["rows"]

    assert [(i["kind"], i["subject"], i["message"]["message"]) for i in items] == [
        ("message", None, "plain"),
        ("message", "build-report", "from a session the emulator never saw"),
        ("message", None, "bad headers are ignored"),
    ]
    assert items[2]["message"]["correlation_id"] is None
    sent = [row["call"] for row in calls if row["call"]["path"] == "/v1/send-message/"]
    assert [c["run"] for c in sent] == [None, None, None]


def test_a_late_answer_claims_the_follow_ups_sent_while_it_ran(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    """A command's calls arrive before its answer names their correlation id."""
    correlation = hex16()
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        http.post(
            "/v1/send-message/", headers=job_headers(jane, correlation), json={"message": "early"}
        )
        before = conversation(http)
        answered_with(command_receiver, correlation)
        http.post("/_emulator/invoke", json={"intent": "vote"})
        after = conversation(http)

    assert [i["kind"] for i in before] == ["message"]
    [item] = after
    assert item["subject"] == "vote"
    assert [m["message"] for m in item["runs"][0]["follow_ups"]] == ["early"]


def test_events_refusals_and_scheduled_executions_have_their_place(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        jane = as_user(http, JANE)
        nobody = http.post(
            "/_emulator/events",
            json={
                "organization_uuid": ACME,
                "event": "kudos.posted",
                "body": {"n": 1},
                "results": True,
            },
        ).json()
        http.post(
            "/v1/platform/event-subscription/",
            headers=jane,
            json={"subscriptions": ["kudos.posted"]},
        )
        correlation = hex16()
        answered_with(command_receiver, correlation)
        reached = http.post(
            "/_emulator/events",
            json={"organization_uuid": ACME, "event": "kudos.posted", "results": True},
        ).json()
        plain = http.post(
            "/_emulator/events", json={"organization_uuid": ACME, "event": "kudos.posted"}
        ).json()
        http.post(
            "/v1/platform/storage/",
            headers={**jane, "X-Correlation-Id": correlation},
            json={"op": "set", "params": {"key": "kudos_count", "value": 1}},
        )
        http.post(
            "/_emulator/invoke",
            json={"intent": "dance", "user_uuid": JANE, "organization_uuid": ACME},
        )
        http.post(
            "/v1/platform/scheduling/", headers=jane, json={"name": "nightly", "cron": "0 3 * * *"}
        )
        http.post("/_emulator/clock/advance", json={"seconds": 2 * 24 * 3600})
        jane_sees = conversation(http)
        john_sees = conversation(http, user=JOHN)
        globex = http.get("/_emulator/timeline", params={"organization_uuid": GLOBEX}).json()

    kinds = [(i["kind"], i["subject"]) for i in jane_sees]
    assert kinds[:4] == [("event", "kudos.posted")] * 3 + [("refused", "dance")]
    assert {k for k in kinds[4:]} == {("scheduled_execution", "nightly")}
    first, second, _, refused = jane_sees[:4]
    assert (first["outcome"]["hooks"], first["runs"], first["body"]) == (0, [], {"n": 1})
    assert nobody["results"] == []
    assert nobody["occurrence"] == first["id"]
    assert second["outcome"]["hooks"] == 1
    assert reached["occurrence"] == second["id"]
    assert reached["results"][0]["status_code"] == 200
    assert plain == {"deliveries": 1}  # without "results", the answer it always had
    assert [c["summary"] for c in second["runs"][0]["calls"]] == ["storage set kudos_count"]
    assert refused["outcome"]["code"] == "unknown_intent"
    assert refused["body"] == {"query": ""}
    # Events are the organization's; Jane's own refusal and schedule are hers only.
    assert [i["kind"] for i in john_sees] == ["event", "event", "event"]
    assert globex["items"] == []


def test_a_pending_delivery_is_in_the_timeline_before_it_is_answered(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    import threading

    command_receiver.delays.append(1.5)
    with wired_emulator.client() as http:
        thread = threading.Thread(
            target=lambda: http.post("/_emulator/invoke", json={"intent": "report"})
        )
        thread.start()
        command_receiver.wait_for(1)
        during = conversation(http)
        thread.join()
        after = conversation(http)

    assert during[0]["runs"][0]["pending"] is True
    assert during[0]["runs"][0]["attempts"] == []
    assert after[0]["runs"][0]["pending"] is False
    assert after[0]["runs"][0]["duration_ms"] >= 1000


def test_timeline_items_are_read_one_by_one_and_paged(
    wired_emulator: EmulatorProcess, command_receiver: Any
):
    with wired_emulator.client() as http:
        for n in range(5):
            http.post("/_emulator/invoke", json={"intent": "remember", "query": f"k{n} v"})
        newest = http.get("/_emulator/timeline", params={"limit": 2}).json()
        earlier = http.get(
            "/_emulator/timeline", params={"limit": 2, "before": newest["earlier"]}
        ).json()
        one = http.get(f"/_emulator/timeline/{newest['items'][0]['id']}")
        missing = http.get("/_emulator/timeline/run:nope")
        bad = http.get("/_emulator/timeline", params={"limit": "many"})

    assert [i["runs"][0]["query"] for i in newest["items"]] == ["k3 v", "k4 v"]
    assert [i["runs"][0]["query"] for i in earlier["items"]] == ["k1 v", "k2 v"]
    assert one.json() == newest["items"][0]
    assert missing.status_code == 404
    assert bad.status_code == 400
