"""Polyline helpers the expert follows and the gate measures against."""

import math

import pytest

from kiwi_teleop.paths import path_length, path_position, point_along, rounded

L_PATH = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]


def test_point_along_walks_the_legs_and_stops_at_the_ends():
    assert point_along(L_PATH, 0.5) == pytest.approx((0.5, 0.0))
    assert point_along(L_PATH, 1.25) == pytest.approx((1.0, 0.25))
    assert point_along(L_PATH, 5.0) == (1.0, 1.0)
    assert point_along(L_PATH, -1.0) == (0.0, 0.0)
    assert path_length(L_PATH) == pytest.approx(2.0)


def test_a_rounded_corner_keeps_the_ends_and_cuts_the_corner_smoothly():
    path = rounded(L_PATH, 0.2)
    assert path[0] == L_PATH[0] and path[-1] == L_PATH[-1]
    assert (0.8, 0.0) == pytest.approx(path[1]) and (1.0, 0.2) == pytest.approx(path[-2])
    distance, _ = path_position((1.0, 0.0), path)
    assert 0.05 < distance < 0.2, "the corner itself is no longer on the path"
    turns = [
        abs(math.atan2(b[1] - a[1], b[0] - a[0]) - math.atan2(a[1] - p[1], a[0] - p[0]))
        for p, a, b in zip(path, path[1:], path[2:])
    ]
    assert max(turns) < math.radians(15), "no sharp turn left"


def test_pursuit_along_a_rounded_corner_moves_the_target_without_a_jump():
    """Walking across the inside of the corner, the nearest arc length changes a little per step
    on the rounded path; on the sharp one it jumps where the nearest leg switches."""

    def largest_step(path):
        alongs = [path_position((0.8 + 0.002 * k, 0.002 * k), path)[1] for k in range(100)]
        return max(abs(b - a) for a, b in zip(alongs, alongs[1:]))

    assert largest_step(rounded(L_PATH, 0.3)) < 0.02
    assert largest_step(L_PATH) > 0.1
