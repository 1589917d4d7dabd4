"""Tick timing and stamp conversion shared by the driver and policy nodes."""

import pytest

from kiwi_common.stamps import duration_msg, stamp_seconds
from kiwi_common.timing import TickTimer


def test_tick_timer_periods_and_late_ticks():
    timer = TickTimer(period=0.1, window=3)
    assert timer.tick(0.0) is None and timer.percentile_ms(50) != timer.percentile_ms(
        50
    )  # nan before two ticks
    for t in (0.1, 0.2, 0.36, 0.46):
        timer.tick(t)
    assert timer.late_total == 1 and timer.late_in_window() == 1
    assert timer.percentile_ms(50) == pytest.approx(100.0)
    timer.tick(0.56)
    timer.tick(0.66)
    assert timer.late_in_window() == 0 and timer.late_total == 1, "the window forgets, the total does not"


def test_duration_carries_into_seconds():
    d = duration_msg(0.9999999999)
    assert (d.sec, d.nanosec) == (1, 0)
    assert stamp_seconds(duration_msg(2.25)) == pytest.approx(2.25)
