"""Polylines in the plane: where a point is along one, and the point a distance along it. The
expert follows its reference path with these (pure pursuit) and the gate measures straying and
progress against the same path."""

from __future__ import annotations

import math

Point = tuple[float, float]


def path_position(point: Point, path: list[Point]) -> tuple[float, float]:
    """(distance from the polyline, arc length of the nearest point on it) of a point."""
    best, along, walked = math.inf, 0.0, 0.0
    for (ax, ay), (bx, by) in zip(path, path[1:]):
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        u = (
            0.0
            if length == 0
            else min(max(((point[0] - ax) * dx + (point[1] - ay) * dy) / length**2, 0.0), 1.0)
        )
        distance = math.hypot(point[0] - (ax + u * dx), point[1] - (ay + u * dy))
        if distance < best:
            best, along = distance, walked + u * length
        walked += length
    return best, along


def point_along(path: list[Point], s: float) -> Point:
    """The point at arc length `s` along the polyline (its ends beyond them)."""
    walked = 0.0
    for (ax, ay), (bx, by) in zip(path, path[1:]):
        length = math.hypot(bx - ax, by - ay)
        if length > 0 and s <= walked + length:
            u = max(s - walked, 0.0) / length
            return ax + u * (bx - ax), ay + u * (by - ay)
        walked += length
    return path[-1]


def path_length(path: list[Point]) -> float:
    return sum(math.hypot(bx - ax, by - ay) for (ax, ay), (bx, by) in zip(path, path[1:]))


def rounded(path: list[Point], radius: float, pieces: int = 8) -> list[Point]:
    """The polyline with each inner corner replaced by a parabolic arc (a quadratic Bezier curve in
    `pieces` chords) from `radius` before the corner to `radius` after it (less on short legs).
    Followed by pure pursuit, a sharp corner makes the nearest point, and so the command, jump
    where the robot cuts it; a rounded one the robot follows without a jump."""
    out = [path[0]]
    for prev, corner, nxt in zip(path, path[1:], path[2:]):
        ins, outs = math.dist(prev, corner), math.dist(corner, nxt)
        r = min(radius, ins / 2, outs / 2)
        if r <= 0:
            out.append(corner)
            continue
        a = tuple(q + (p - q) * r / ins for p, q in zip(prev, corner))
        b = tuple(q + (n - q) * r / outs for n, q in zip(nxt, corner))
        for k in range(pieces + 1):
            t = k / pieces
            out.append(
                tuple(
                    (1 - t) ** 2 * pa + 2 * (1 - t) * t * pc + t * t * pb for pa, pc, pb in zip(a, corner, b)
                )
            )
    out.append(path[-1])
    return out
