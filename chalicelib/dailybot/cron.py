"""The platform's five-field cron expressions: checked field by field, and that they can fire.

`minute hour day-of-month month day-of-week`, each a list of `*`, numbers, names (`JAN`,
`MON`), ranges (`1-5`; wrapping ones too, `FRI-MON`, though without a step) and steps
(`*/15`, `9-17/2`, `5/10`); `?` means any day, `L` the last day of the month, `15W` the
weekday nearest the 15th and `MON#2` the second Monday. Day of week runs 0-7, both 0 and 7
being Sunday. When both day fields are restricted, a day matching either fires (as in cron);
when only the day of month is, some month must have that day (`0 0 31 2 *` never fires). The
deployed function checks its declarations with this module alone: it needs no cron library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


class CronError(ValueError):
    """A cron expression the platform would refuse; the message says which field and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    any_day: bool = False  # takes `?`


_MONTHS: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_WEEKDAYS: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MINUTE, HOUR, DAY, MONTH, WEEKDAY = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31, any_day=True),
    _Field("month", 1, 12, names=_MONTHS),
    _Field("day-of-week", 0, 7, names=_WEEKDAYS, any_day=True),
)
FIELDS: Final = (MINUTE, HOUR, DAY, MONTH, WEEKDAY)
# The longest each month can be (February in a leap year).
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NUMBER: Final = re.compile(r"\d+")


def cron_problem(expression: object) -> str | None:
    """Why the platform would refuse `expression`, in words that say what to change; None when
    it is a five-field expression that fires."""
    try:
        check_cron(expression)
    except CronError as error:
        return str(error)
    return None


def check_cron(expression: object) -> None:
    """Raises `CronError` unless `expression` is a valid five-field cron that can fire."""
    if not isinstance(expression, str):
        raise CronError(f"a cron expression is text, not {type(expression).__name__}")
    parts = expression.split()
    if len(parts) != len(FIELDS):
        raise CronError(
            f"{expression!r} has {len(parts)} field(s); a cron expression has five:"
            " minute hour day-of-month month day-of-week"
        )
    values = [_values(text, spec) for text, spec in zip(parts, FIELDS, strict=True)]
    day_text, weekday_text = parts[2], parts[4]
    if _restricted(day_text) and not _restricted(weekday_text):
        _check_some_month_has(values[2], values[3], expression)


def _restricted(text: str) -> bool:
    return text not in ("*", "?")


def _check_some_month_has(days: set[int], months: set[int], expression: str) -> None:
    if not any(day <= _DAYS_IN_MONTH[month - 1] for day in days for month in months):
        raise CronError(
            f"{expression!r} never fires: no month it names has the day(s) of month it names"
        )


def _values(text: str, spec: _Field) -> set[int]:
    """Every value the field `text` names (a day of month's `L` counts as day 28)."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"the {spec.name} field {text!r} has an empty item")
        values |= _item_values(item, spec)
    return values


def _item_values(item: str, spec: _Field) -> set[int]:
    special = _special(item.upper(), spec)
    if special is not None:
        return special
    base, slash, step_text = item.partition("/")
    step = _step(step_text, item, spec) if slash else 1
    if base in ("*", "?"):
        if base == "?" and not spec.any_day:
            raise CronError(f"the {spec.name} field takes no '?' (only the two day fields do)")
        return set(range(spec.low, spec.high + 1, step))
    first_text, dash, last_text = base.partition("-")
    first = _number(first_text, spec)
    # `5/10` runs from 5 to the field's end; a lone `5` is just 5.
    last = _number(last_text, spec) if dash else (spec.high if slash else first)
    if first > last and step > 1:
        raise CronError(
            f"the {spec.name} item {item!r}: a range that wraps past the end takes no step"
            " (cron implementations read it differently); list the values instead"
        )
    return set(_span(first, last, spec)[::step])


def _special(item: str, spec: _Field) -> set[int] | None:
    """`L`, `15W` (day of month) and `MON#2` (day of week), or None for an ordinary item."""
    if spec is DAY and item == "L":
        return {28}
    if spec is DAY and item.endswith("W"):
        return {_number(item[:-1], spec)}
    if spec is WEEKDAY and "#" in item:
        day, _, nth = item.partition("#")
        if not (_NUMBER.fullmatch(nth) and 1 <= int(nth) <= 5):
            raise CronError(f"the day-of-week item {item!r}: '#' takes 1 to 5 (the nth weekday)")
        return {_number(day, spec)}
    return None


def _step(text: str, item: str, spec: _Field) -> int:
    if not _NUMBER.fullmatch(text) or int(text) < 1:
        raise CronError(f"the {spec.name} item {item!r}: a step after '/' is a number above 0")
    return int(text)


def _number(text: str, spec: _Field) -> int:
    upper = text.upper()
    if upper in spec.names:
        return spec.names.index(upper) + spec.low
    if not _NUMBER.fullmatch(text):
        names = f", or a name ({'-'.join((spec.names[0], spec.names[-1]))})" if spec.names else ""
        raise CronError(
            f"the {spec.name} field has {text!r}; it takes numbers {spec.low}-{spec.high}{names}"
        )
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise CronError(
            f"the {spec.name} field has {value}, out of range: it takes {spec.low}-{spec.high}"
        )
    return value


def _span(first: int, last: int, spec: _Field) -> list[int]:
    """`first` to `last` in order, wrapping past the field's end when `last` comes first."""
    if first <= last:
        return list(range(first, last + 1))
    return list(range(first, spec.high + 1)) + list(range(spec.low, last + 1))
