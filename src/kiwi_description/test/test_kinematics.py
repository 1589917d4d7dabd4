import math

import numpy as np
import pytest

from kiwi_description import kinematics as kin
from kiwi_description.constants import MAX_WHEEL_RAW


@pytest.mark.parametrize(
    "command, raw",
    [
        ((0.1, 0.0, 0.0), (-1129, 0, 1129)),
        ((0.0, 0.1, 0.0), (652, -1304, 652)),
        ((0.0, 0.0, 30.0), (853, 853, 853)),
        ((0.0, 0.0, 90.0), (2560, 2560, 2560)),
    ],
)
def test_body_to_wheel_raw_reproduces_lerobot(command, raw):
    assert kin.body_to_wheel_raw(*command) == raw


def test_clamp_scales_all_wheels_by_one_factor():
    unclamped = kin.body_to_wheel_speeds(0.5, 0.2, math.radians(40)) * kin.STEPS_PER_RAD
    raw = np.array(kin.body_to_wheel_raw(0.5, 0.2, 40.0))
    assert np.max(np.abs(raw)) == MAX_WHEEL_RAW
    # Same direction: each wheel scaled by the same ratio (to rounding).
    ratios = raw / unclamped
    assert np.allclose(ratios, ratios[0], atol=1e-3)
    assert ratios[0] < 1.0
    # The direction of travel of the base is kept.
    x, y, th = kin.wheel_raw_to_body(raw)
    assert math.isclose(y / x, 0.2 / 0.5, rel_tol=2e-3)
    assert math.isclose(math.radians(th) / x, math.radians(40) / 0.5, rel_tol=2e-3)


def test_clamp_leaves_slow_commands_alone():
    assert kin.body_to_wheel_raw(0.1, 0.0, 0.0, max_raw=3000) == kin.body_to_wheel_raw(
        0.1, 0.0, 0.0, max_raw=1e9
    )


def test_top_speed_at_the_clamp():
    # At 3000 steps/s the rim speed is 0.230 m/s: top speed ~0.266 m/s in x, 0.230 in y.
    x, _, _ = kin.wheel_raw_to_body(kin.body_to_wheel_raw(1.0, 0.0, 0.0))
    _, y, _ = kin.wheel_raw_to_body(kin.body_to_wheel_raw(0.0, 1.0, 0.0))
    assert x == pytest.approx(0.2657, abs=5e-4)
    assert y == pytest.approx(0.2301, abs=5e-4)


@pytest.mark.parametrize("command", [(0.1, 0.0, 0.0), (0.05, -0.08, 25.0), (-0.12, 0.06, -40.0)])
def test_raw_round_trip_within_one_step(command):
    back = kin.wheel_raw_to_body(kin.body_to_wheel_raw(*command))
    # One raw step is 0.077 mm/s of rim speed; rounding three wheels stays well below 1 mm/s.
    assert back[0] == pytest.approx(command[0], abs=1e-3)
    assert back[1] == pytest.approx(command[1], abs=1e-3)
    assert back[2] == pytest.approx(command[2], abs=0.05)


def test_si_round_trip_is_exact():
    twist = (0.13, -0.07, 0.9)
    assert np.allclose(kin.wheel_speeds_to_body(kin.body_to_wheel_speeds(*twist)), twist)


def test_pure_rotation_turns_all_wheels_equally():
    speeds = kin.body_to_wheel_speeds(0.0, 0.0, 1.0)
    assert np.allclose(speeds, 0.125 / 0.05)


def test_integrate_pose_straight_and_circle():
    assert kin.integrate_pose(0, 0, math.pi / 2, 0.1, 0.0, 0.0, 2.0) == pytest.approx(
        (0.0, 0.2, math.pi / 2), abs=1e-12
    )
    # A full circle in one step returns to the start.
    x, y, yaw = kin.integrate_pose(1.0, 2.0, 0.3, 0.2, 0.1, 2 * math.pi, 1.0)
    assert (x, y) == pytest.approx((1.0, 2.0), abs=1e-9)
    assert kin.wrap_angle(yaw - 0.3) == pytest.approx(0.0, abs=1e-9)


def test_integrate_pose_matches_fine_euler():
    exact = kin.integrate_pose(0, 0, 0.0, 0.2, -0.05, 0.8, 1.0)
    x = y = yaw = 0.0
    n = 100_000
    for _ in range(n):
        dx, dy = kin.body_to_world(0.2, -0.05, yaw)
        x, y, yaw = x + dx / n, y + dy / n, yaw + 0.8 / n
    assert exact == pytest.approx((x, y, yaw), abs=1e-5)


def test_box_clearance():
    from kiwi_description.kinematics import box_clearance

    box, size = (1.0, 0.0), (0.2, 0.4)
    assert box_clearance((0.5, 0.0), box, size, 0.1) == pytest.approx(
        0.3
    )  # 0.4 to the face, minus the radius
    assert box_clearance((0.5, 0.5), box, size, 0.0) == pytest.approx(math.hypot(0.4, 0.3))  # to the corner
    assert box_clearance((0.85, 0.0), box, size, 0.1) == pytest.approx(-0.05)  # overlapping
    assert box_clearance((1.0, 0.0), box, size, 0.1) < -0.1  # centre inside: deeper than the radius
