"""Wheel odometry: integrate the twist the wheels report (REP-105 `odom` frame)."""

from __future__ import annotations

from kiwi_description import kinematics as kin


class WheelOdometry:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.x = self.y = self.yaw = 0.0
        self.twist = (0.0, 0.0, 0.0)

    def update(self, wheel_speeds, dt: float) -> None:
        """Advance by `dt` seconds at the body twist the wheel speeds (rad/s) make."""
        self.twist = kin.wheel_speeds_to_body(wheel_speeds)
        if dt > 0:
            self.x, self.y, self.yaw = kin.integrate_pose(self.x, self.y, self.yaw, *self.twist, dt)
