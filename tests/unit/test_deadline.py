"""The deadline a delivery's platform calls share."""

from __future__ import annotations

from chalicelib.dailybot.deadline import Deadline
from tests.clocks import FakeClock


def test_remaining_time_shrinks_and_never_goes_negative() -> None:
    clock = FakeClock()
    deadline = Deadline.after(10.0, clock)
    assert deadline.remaining() == 10.0
    clock.now += 4.0
    assert deadline.remaining() == 6.0
    assert not deadline.expired()
    clock.now += 7.0
    assert deadline.remaining() == 0.0
    assert deadline.expired()


def test_shortened_keeps_time_back_and_never_is_unbounded() -> None:
    clock = FakeClock()
    deadline = Deadline.after(10.0, clock).shortened(1.5)
    assert deadline.remaining() == 8.5
    assert Deadline.never().remaining() == float("inf")
