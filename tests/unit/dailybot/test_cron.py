"""The runtime's own cron check agrees with croniter (what the emulator, our platform, uses) on
which expressions are valid and can fire, without the deployed function needing croniter."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from croniter import CroniterError, croniter

from chalicelib.dailybot.cron import CronError, check_cron, cron_problem

NOW = datetime(2026, 1, 1)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Where the two knowingly differ, the runtime is the stricter: croniter reads `7-0` in the
# month or day fields as a wrap to an out-of-range 0, and a wrapping range with a step in its
# own way (`11-3/4` is only November).
STRICTER = ("has 0, out of range", "wraps past the end")
CORPUS = (
    "0 9 * * 1-5",
    "*/15 9-17 * JAN-MAR MON-FRI",
    "0 0 31 2 *",
    "0 0 30 2 *",
    "0 0 29 2 *",
    "0 0 31 2 1",
    "0 0 31 4,6 *",
    "0 0 L 2 *",
    "0 0 * * 5#2",
    "5-1 * * * *",
    "0 0 * * 7",
    "0 0 * * 0-7",
    "*/0 * * * *",
    "0 0 ? * *",
    "0 25 * * *",
    "0 0 0 * *",
    "1/5 * * * *",
    "0 0 31 */2 *",
    "0 0 * * 8",
    "60 * * * *",
    "0 0 1-31/40 * *",
    "0 0 15W * *",
    "0 0 * * sat-sun",
    "0 0 * 2 2#5",
    "0 0 31 2 ?",
    "0 0 31 1-12/2 *",
    "0 0 31 4-6/2 *",
    "a b c d e",
    "0 0 * * MON#6",
    "0,,5 * * * *",
    "0 0 32 * *",
    "? * * * *",
    "0 0 30 feb *",
    "0 0 29-31 2 *",
    "0 0 31 */3 *",
    "-1 * * * *",
    "0 0 * * MON-",
    "0 */24 * * *",
    "banana",
    "0 9 * *",
    "0 9 * * * *",
)


def platform_takes(expression: str) -> bool:
    """What the emulator's create checks: five fields croniter reads, and a next run."""
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        return False
    try:
        croniter(expression, NOW).get_next(datetime)
    except CroniterError:
        return False
    return True


def _item(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    def value() -> str:
        if names and rng.random() < 0.15:
            return rng.choice(names)
        return str(rng.randint(low - 1, high + 1))

    shapes = (
        lambda: "*",
        lambda: f"*/{rng.randint(0, high)}",
        value,
        lambda: f"{value()}-{value()}",
        lambda: f"{value()}-{value()}/{rng.randint(0, 5)}",
        lambda: f"{value()}/{rng.randint(1, 5)}",
        lambda: "?",
        lambda: ",".join(value() for _ in range(rng.randint(1, 3))),
    )
    return rng.choice(shapes)()


def random_expressions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(
            (
                _item(rng, 0, 59),
                _item(rng, 0, 23),
                _item(rng, 1, 31),
                _item(rng, 1, 12, MONTHS),
                _item(rng, 0, 7, WEEKDAYS),
            )
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("expression", CORPUS)
def test_the_runtime_and_the_platform_agree(expression: str) -> None:
    assert (cron_problem(expression) is None) == platform_takes(expression), cron_problem(
        expression
    )


def test_they_agree_on_thousands_of_generated_expressions() -> None:
    disagree = []
    for expression in random_expressions(4000, seed=21):
        problem = cron_problem(expression)
        if (problem is None) != platform_takes(expression):
            disagree.append((expression, problem))
    assert [d for d in disagree if not any(s in (d[1] or "") for s in STRICTER)] == []
    # The knowing differences only ever refuse; they never accept what the platform refuses.
    assert all(problem is not None for _, problem in disagree)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 25 * * *", "the hour field has 25, out of range: it takes 0-23"),
        ("0 0 31 2 *", "'0 0 31 2 *' never fires: no month it names has the day(s)"),
        ("0 0 * FOO *", "the month field has 'FOO'; it takes numbers 1-12, or a name (JAN-DEC)"),
        ("0 0 * * 1#9", "'#' takes 1 to 5"),
        ("0 0 * * *  *", "has 6 field(s); a cron expression has five: minute hour"),
        ("? 0 * * *", "the minute field takes no '?'"),
        ("0 0 11-3/2 * *", "a range that wraps past the end takes no step"),
    ],
)
def test_problems_are_said_field_by_field(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        check_cron(expression)
    assert message in str(raised.value)


def test_only_text_is_a_cron_expression() -> None:
    assert cron_problem(None) == "a cron expression is text, not NoneType"
