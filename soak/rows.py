"""The table's rows: each reads the finished run (journal, router records, the platform's
records, every process's log) and says whether its claim held, with the figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Final

from soak.job_crashes import EXPECTED_FOLLOW_UPS
from soak.logs import audit_secrets, outcomes, read_logs, runs_per_delivery
from soak.phases import expected_message, kinds
from soak.report import Row, percentile
from soak.run import CrashRecord, Invocation, JobRecord, SoakRun
from soak.settings import REPLY_BUDGET_SECONDS

BUDGET_MS: Final = REPLY_BUDGET_SECONDS * 1000


def _late(invocations: list[Invocation]) -> int:
    return sum(1 for i in invocations if i.elapsed_ms is None or i.elapsed_ms >= BUDGET_MS)


def _digests(run: SoakRun, phase: str) -> set[str]:
    prefix = run.prefix(phase)
    return {a.digest for a in run.router.arrivals if (a.query or "").startswith(prefix)}


def load(run: SoakRun) -> Row:
    s = run.settings
    done = run.journal.of("load")
    answered = [i for i in done if i.answered]
    times = [i.elapsed_ms for i in answered if i.elapsed_ms is not None]
    if times:
        figures = (
            ", ".join(f"p{q} {percentile(times, q / 100):.0f} ms" for q in (50, 95, 99))
            + f", max {max(times):.0f} ms"
        )
    else:
        figures = "no answers"
    late, unanswered = _late(done), len(done) - len(answered)
    return Row(
        name="load",
        did=f"{len(done)} deliveries at {s.rate:g}/s for {s.load_seconds:g} s over {s.apps} apps",
        holds_when="p50/p95/p99 reply times printed; none over the 10 s budget",
        holds=bool(done) and not late and not unanswered,
        measured=f"{figures}; {late} over budget, {unanswered} unanswered",
    )


def duplicates(run: SoakRun) -> Row:
    done = run.journal.of("load")
    digests = _digests(run, "load")
    copies = [c for c in run.router.copies if c.digest in digests]
    extra = Counter(c.digest for c in copies if c.role != "primary")
    at_once = sum(1 for c in copies if c.role == "at_once")
    not_ok = sum(1 for c in copies if c.status != 200)
    added = run.journal.usage_added.get("load", -1)
    wrong = sum(1 for i in done if run.view.stored(i.key) != i.value)
    return Row(
        name="duplicates",
        did=(
            f"{len(extra)} of {len(done)} deliveries sent 2 to 5 times "
            f"({sum(extra.values())} extra copies, {at_once} at once to another process)"
        ),
        holds_when=(
            "every handler's side effect counted exactly once (the platform's storage and "
            "activity say so)"
        ),
        holds=bool(extra)
        and not not_ok
        and added == len(done)
        and not wrong
        and "load" not in run.journal.undrained,
        measured=(
            f"{added} usage records for {len(done)} deliveries; {len(done) - wrong} of "
            f"{len(done)} values stored; {not_ok} copies answered other than 200"
            + ("; some copies were still out at the end" if "load" in run.journal.undrained else "")
        ),
    )


def platform_faults(run: SoakRun) -> Row:
    done = run.journal.of("faults")
    results = sum(1 for i in done if i.message == i.result)
    friendly = sum(1 for i in done if i.answered and i.message != i.result)
    digests = _digests(run, "faults")
    server_errors = sum(
        1 for c in run.router.copies if c.digest in digests and (c.status or 500) >= 500
    )
    late = _late(done)
    longest = max((i.elapsed_ms or 0.0 for i in done), default=0.0)
    injected = run.journal.faults_injected
    return Row(
        name="platform faults",
        did=(
            f"{len(done)} deliveries while {sum(injected.values())} faults hit "
            f"{run.journal.faulted_calls} platform calls ({kinds(injected)})"
        ),
        holds_when=(
            "every command answered within budget, with its result or a friendly reply; no 5xx"
        ),
        holds=bool(done)
        and run.journal.faulted_calls > 0
        and results + friendly == len(done)
        and not late
        and not server_errors,
        measured=(
            f"{results} results, {friendly} friendly replies, "
            f"{len(done) - results - friendly} neither; slowest {longest:.0f} ms; "
            f"{server_errors} 5xx"
        ),
    )


def _crash_problems(crash: CrashRecord) -> list[str]:
    """What kept one crash from holding (empty when it held)."""
    checks = {
        "not killed inside the handler": crash.mid_handler and crash.exit_status == -9,
        "a copy during the lock was not answered 'still working'": crash.during_lock is not None
        and crash.during_lock.status == 200
        and crash.during_lock.message != crash.invocation.result,
        f"Dailybot's answer was {crash.invocation.status}": crash.invocation.answered,
        "no copy after the lock expired ran it": any(
            copy.message == crash.invocation.result for copy in crash.after_lock
        ),
        "a copy after the lock expired was not answered 200": bool(crash.after_lock)
        and all(copy.status == 200 for copy in crash.after_lock),
        f"{crash.usage_added} runs (usage records) instead of 1": crash.usage_added == 1,
        "its value was not stored": crash.stored == crash.value,
        f"attempts answered {crash.attempts}": len(crash.attempts) >= 2
        and crash.attempts[0] != 200
        and crash.attempts[-1] == 200,
        "the app was not back": crash.restarted,
    }
    return [f"{crash.key}: {problem}" for problem, held in checks.items() if not held]


def messages_of(run: SoakRun, job: JobRecord) -> int:
    """How many of the platform's messages name this job."""
    marker = expected_message(job)
    return sum(1 for message in run.journal.follow_ups if marker in message)


def crashes(run: SoakRun) -> Row:
    records = run.journal.crashes
    s = run.settings
    problems = [problem for crash in records for problem in _crash_problems(crash)]
    held = sum(1 for crash in records if not _crash_problems(crash))
    return Row(
        name="crashes",
        did=(
            f"{len(records)} app processes SIGKILLed inside a handler's platform call and "
            f"restarted; Dailybot delivered again after {s.redelivery_pause:g} s, to every "
            "live app at once"
        ),
        holds_when="the delivery runs once after its lock expires",
        holds=bool(records) and not problems,
        measured=(
            f"{held} of {len(records)} ran exactly once after the {s.lock_seconds} s lock "
            "expired, answered a copy with 'still working' while the lock held, and stored "
            "their value" + ("" if not problems else "; " + "; ".join(problems))
        ),
    )


def job_crashes(run: SoakRun) -> Row:
    outcomes = run.journal.job_crashes
    expected = ", ".join(f"{step}: {count}" for step, count in EXPECTED_FOLLOW_UPS.items())
    per_step: dict[str, list[str]] = {}
    for outcome in outcomes:
        per_step.setdefault(outcome.step.value, []).append(
            str(outcome.follow_ups) if outcome.killed else "not killed at the step"
        )
    return Row(
        name="job crashes",
        did=(
            f"a job worker SIGKILLed at each step of a job, {run.settings.job_crashes} "
            f"round(s) of {len(EXPECTED_FOLLOW_UPS)} steps, each held there by a locked store "
            "or queue and restarted"
        ),
        holds_when=(
            f"follow-ups per step as documented ({expected}): after the send the platform "
            "took a follow-up whose claim was not completed, so it is sent again"
        ),
        holds=len(outcomes) == run.settings.job_crashes * len(EXPECTED_FOLLOW_UPS)
        and all(outcome.holds for outcome in outcomes),
        measured="; ".join(f"{step}: {', '.join(counts)}" for step, counts in per_step.items())
        or "no step ran",
    )


def bad_input(run: SoakRun) -> Row:
    refusals = run.journal.refusals
    refused = [r for r in refusals if r.refused]
    made_up = [r for r in refusals if r.kind != "replayed"]
    reached = sum(1 for r in made_up if run.view.stored(r.key) is not None)
    replay_runs = run.journal.usage_added.get("replays", 0)
    codes = Counter(f"{r.kind} {r.status} {r.code}" for r in refusals)
    return Row(
        name="bad input",
        did=(
            f"{len(refusals)} malformed, oversized, unsigned, stale, future and replayed "
            f"deliveries mixed into the load ({kinds(Counter(r.kind for r in refusals))})"
        ),
        holds_when="each refused with a 4xx and a `code`; none reaches the platform",
        holds=bool(refusals)
        and len(refused) == len(refusals)
        and not reached
        and replay_runs == 0
        and (run.settings.replays == 0 or any(r.kind == "replayed" for r in refusals)),
        measured=(
            f"{len(refused)} of {len(refusals)} refused with a 4xx and a code "
            f"({', '.join(sorted(codes))}); {reached} reached storage, "
            f"{replay_runs} usage records from replays"
        ),
    )


def secrets(run: SoakRun) -> Row:
    logs = read_logs(run.stack.apps.logs + sorted(run.stack.logs.rglob("*.log")))
    tokens = set(run.router.tokens)
    if run.view.token:
        tokens.add(run.view.token)
    audit = audit_secrets(logs, (*run.stack.world.secrets, *tokens))
    return Row(
        name="secrets",
        did=f"every line of {audit.files} process logs ({audit.lines} lines) searched",
        holds_when="no API key, exchange token or signature",
        holds=audit.lines > 0 and bool(tokens) and not audit.leaks,
        measured=(
            f"{audit.secrets} secrets searched ({len(tokens)} exchange tokens); "
            + (
                "none found"
                if not audit.leaks
                else "found in " + ", ".join(f"{n} ({k})" for n, k in sorted(audit.leaks.items()))
            )
        ),
    )


def nothing_lost(run: SoakRun) -> Row:
    accepted = {a.digest for a in run.router.arrivals}
    final: dict[str, tuple[int, int | None]] = {}
    for attempt in run.view.deliveries():
        digest, number = attempt["body_sha256"], int(attempt["attempt"])
        if digest in accepted and number >= final.get(digest, (0, None))[0]:
            final[digest] = (number, attempt["status"])
    unanswered = sum(1 for d in accepted if not 200 <= (final.get(d, (0, None))[1] or 0) < 300)
    runs = runs_per_delivery(outcomes(read_logs(run.stack.apps.logs)))
    twice = sum(1 for count in runs.values() if count > 1)
    never = len(accepted) - len(runs)
    jobs = run.journal.jobs
    sent = Counter(min(messages_of(run, job), 2) for job in jobs)
    failures = sum(1 for job in jobs if job.fails and messages_of(run, job) == 1)
    unanswered_jobs = sum(1 for job in jobs if not job.answered)
    job_digests = _digests(run, "jobs")
    duplicated = len(
        {c.digest for c in run.router.copies if c.digest in job_digests and c.role != "primary"}
    )
    return Row(
        name="nothing lost",
        did=(
            f"{len(accepted)} deliveries accepted from Dailybot in all phases; "
            f"{len(jobs)} jobs deferred ({sum(job.fails for job in jobs)} failing on every try, "
            f"{duplicated} delivered 2 to 5 times)"
        ),
        holds_when=("exactly one outcome each; every job one follow-up or one failure message"),
        holds=bool(accepted)
        and not unanswered
        and not twice
        and never == 0
        and bool(jobs)
        and sent[1] == len(jobs)
        and not unanswered_jobs,
        measured=(
            f"{len(runs) - twice} ran exactly once, {twice} more than once, {never} never "
            f"(the apps' logs); {unanswered} without a 2xx answer (the emulator's record); "
            f"jobs: {sent[1] - failures} one follow-up, {failures} one failure message, "
            f"{sent[0]} none, {sent[2]} two or more; {unanswered_jobs} deliveries not answered 200"
        ),
    )


ROWS: Final[tuple[Callable[[SoakRun], Row], ...]] = (
    load,
    duplicates,
    platform_faults,
    crashes,
    job_crashes,
    bad_input,
    secrets,
    nothing_lost,
)
