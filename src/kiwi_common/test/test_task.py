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


def test_wide_layouts_cover_the_wider_task():
    import math

    from kiwi_common.task import WIDE_BEARING, WIDE_HEADING, layout_of, sample_layout, sample_wide_layout

    layouts = [sample_wide_layout(seed) for seed in range(400)]
    with_obstacle = [layout for layout in layouts if layout.obstacle_xy is not None]
    assert 0.4 < len(with_obstacle) / len(layouts) < 0.6, "the obstacle on half the layouts"
    distances = [math.hypot(*layout.cube_xy) for layout in layouts]
    assert 0.6 <= min(distances) < 0.65 and 1.45 < max(distances) <= 1.5
    # The cube's bearing from the robot's start heading: within bearing + heading, both ways.
    relative = [math.atan2(layout.cube_xy[1], layout.cube_xy[0]) - layout.start_yaw for layout in layouts]
    limit = WIDE_BEARING + WIDE_HEADING
    assert (
        max(relative) > 0.8 * limit
        and min(relative) < -0.8 * limit
        and max(map(abs, relative)) < limit + 0.03
    )
    for layout in with_obstacle:
        (cx, cy), (ox, oy) = layout.cube_xy, layout.obstacle_xy
        assert cx >= 0.9, "room to stand for the grasp behind the obstacle"
        assert abs(oy - cy * ox / cx) < 0.05, "driving straight at the cube hits the obstacle"
    assert sample_wide_layout(7) == sample_wide_layout(7) == layout_of("wide", 7, False)
    assert layout_of("default", 7, True) == sample_layout(7, True) and sample_layout(7, True).start_yaw == 0.0
    with pytest.raises(ValueError, match="unknown layout kind"):
        layout_of("narrow", 7, True)
