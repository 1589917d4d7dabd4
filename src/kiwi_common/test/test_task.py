import pytest

from kiwi_common.task import HELD_S, HELD_Z, HoldClock, held_at, is_held_up


def test_held_up_needs_both_the_height_and_the_jaws():
    assert is_held_up(HELD_Z, True)
    assert not is_held_up(HELD_Z - 1e-4, True), "below 5 cm over its rest"
    assert not is_held_up(0.2, False), "up, but not between the jaws (tossed, balanced on one)"


def test_success_comes_after_a_whole_second_without_a_break():
    ticks = [k / 30 for k in range(90)]
    assert held_at((t, True) for t in ticks) == pytest.approx(HELD_S)
    assert held_at((t, t > 0.5) for t in ticks) == pytest.approx(0.5 + 1 / 30 + HELD_S)
    broken = [(t, abs(t - 1.0) > 0.01) for t in ticks]  # one tick dropped at 1 s: the clock restarts
    assert held_at(broken) == pytest.approx(1.0 + 1 / 30 + HELD_S)
    assert held_at((t, True) for t in ticks[:30]) is None, "29 ticks are less than a second"


def test_the_clock_restarts_when_the_cube_is_let_go():
    clock = HoldClock()
    assert not clock.update(0.0, True) and not clock.update(0.9, True)
    assert not clock.update(0.95, False)
    assert not clock.update(1.0, True) and clock.update(2.0, True)
