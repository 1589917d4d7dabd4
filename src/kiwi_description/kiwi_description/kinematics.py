"""Omniwheel kinematics of the LeKiwi base, as pure functions.

Two unit systems meet here:
- ROS (REP-103): body twist (vx, vy in m/s, wz in rad/s), wheel speeds in rad/s;
- LeRobot: `x.vel`, `y.vel` in m/s, `theta.vel` in deg/s, wheel speeds in raw servo steps/s.

`body_to_wheel_raw` and `wheel_raw_to_body` reproduce `LeKiwi._body_to_wheel_raw` and
`_wheel_raw_to_body`, including the uniform clamp at `MAX_WHEEL_RAW` steps/s (all wheels scaled
by the same factor so the direction of travel is kept).
"""

from __future__ import annotations

import math

import numpy as np

from .constants import BASE_RADIUS, MAX_WHEEL_RAW, STEPS_PER_REV, WHEEL_DRIVE_ANGLES, WHEEL_RADIUS

STEPS_PER_RAD = STEPS_PER_REV / (2.0 * math.pi)


def wheel_matrix(base_radius: float = BASE_RADIUS) -> np.ndarray:
    """Rows map a body twist (vx, vy, wz) to each wheel's rim speed (m/s); order left, back, right."""
    return np.array([[math.cos(a), math.sin(a), base_radius] for a in WHEEL_DRIVE_ANGLES])


_M = wheel_matrix()
_M_INV = np.linalg.inv(_M)


def body_to_wheel_speeds(vx: float, vy: float, wz: float, wheel_radius: float = WHEEL_RADIUS) -> np.ndarray:
    """Body twist (m/s, m/s, rad/s) -> wheel angular speeds (rad/s), no clamping."""
    return _M @ np.array([vx, vy, wz], dtype=float) / wheel_radius


def wheel_speeds_to_body(wheel_speeds, wheel_radius: float = WHEEL_RADIUS) -> tuple[float, float, float]:
    """Wheel angular speeds (rad/s) -> body twist (m/s, m/s, rad/s)."""
    vx, vy, wz = _M_INV @ (np.asarray(wheel_speeds, dtype=float) * wheel_radius)
    return float(vx), float(vy), float(wz)


def clamp_wheel_speeds(wheel_speeds, max_raw: float = MAX_WHEEL_RAW) -> np.ndarray:
    """Scale all wheels by one factor so none exceeds `max_raw` steps/s (direction is kept)."""
    speeds = np.asarray(wheel_speeds, dtype=float)
    peak = float(np.max(np.abs(speeds))) * STEPS_PER_RAD
    if peak > max_raw:
        speeds = speeds * (max_raw / peak)
    return speeds


def wheel_speeds_to_raw(wheel_speeds) -> tuple[int, int, int]:
    """rad/s -> raw steps/s as the servo takes them (rounded, int16 range)."""
    raw = [int(round(s * STEPS_PER_RAD)) for s in wheel_speeds]
    return tuple(max(-32768, min(32767, r)) for r in raw)  # type: ignore[return-value]


def raw_to_wheel_speeds(raw) -> np.ndarray:
    """raw steps/s -> rad/s."""
    return np.asarray(raw, dtype=float) / STEPS_PER_RAD


def body_to_wheel_raw(
    x_vel: float, y_vel: float, theta_vel_degps: float, max_raw: float = MAX_WHEEL_RAW
) -> tuple[int, int, int]:
    """LeRobot's `_body_to_wheel_raw`: (m/s, m/s, deg/s) -> raw (left, back, right)."""
    speeds = body_to_wheel_speeds(x_vel, y_vel, math.radians(theta_vel_degps))
    return wheel_speeds_to_raw(clamp_wheel_speeds(speeds, max_raw))


def wheel_raw_to_body(raw) -> tuple[float, float, float]:
    """LeRobot's `_wheel_raw_to_body`: raw (left, back, right) -> (x.vel m/s, y.vel m/s, theta.vel deg/s)."""
    vx, vy, wz = wheel_speeds_to_body(raw_to_wheel_speeds(raw))
    return vx, vy, math.degrees(wz)


def body_to_world(vx: float, vy: float, yaw: float) -> tuple[float, float]:
    """Rotate a body-frame planar velocity into the world (odom) frame."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * vx - s * vy, s * vx + c * vy


def world_to_body(vx: float, vy: float, yaw: float) -> tuple[float, float]:
    """Rotate a world-frame planar velocity into the body frame."""
    return body_to_world(vx, vy, -yaw)


def integrate_pose(
    x: float, y: float, yaw: float, vx: float, vy: float, wz: float, dt: float
) -> tuple[float, float, float]:
    """Advance a planar pose by a body twist held constant for dt (exact arc, not Euler)."""
    dtheta = wz * dt
    if abs(dtheta) < 1e-9:
        dx, dy = vx * dt, vy * dt
    else:
        # Integral of R(yaw + w t) v over [0, dt], expressed in the start frame.
        s, c = math.sin(dtheta), math.cos(dtheta)
        dx = (vx * s - vy * (1.0 - c)) / wz
        dy = (vx * (1.0 - c) + vy * s) / wz
    wx, wy = body_to_world(dx, dy, yaw)
    return x + wx, y + wy, wrap_angle(yaw + dtheta)


def wrap_angle(a: float) -> float:
    """Wrap to [-pi, pi)."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def quat_yaw(wxyz) -> float:
    """Yaw of a (w, x, y, z) quaternion."""
    w, x, y, z = wxyz
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def box_clearance(
    point: tuple[float, float], box_centre: tuple[float, float], box_size: tuple[float, float], radius: float
) -> float:
    """Gap (m) between a disc of `radius` at `point` and an axis-aligned box (negative: overlap)."""
    dx = max(abs(point[0] - box_centre[0]) - box_size[0] / 2, 0.0)
    dy = max(abs(point[1] - box_centre[1]) - box_size[1] / 2, 0.0)
    if dx == 0.0 and dy == 0.0:  # centre inside the box
        return -radius - min(
            box_size[0] / 2 - abs(point[0] - box_centre[0]), box_size[1] / 2 - abs(point[1] - box_centre[1])
        )
    return math.hypot(dx, dy) - radius
