"""Unit conversion between ROS (radians, REP-103) and LeRobot's LeKiwi features.

LeRobot (use_degrees=True): arm joints in degrees with zero at mid-range, the gripper 0 (closed)
to 100 (open) over its calibrated range, `theta.vel` in deg/s. ROS: radians everywhere; the
gripper joint is the jaw angle, whose range `ARM_LIMITS["arm_gripper"]` maps linearly onto 0..100.
"""

from __future__ import annotations

import math

from kiwi_description.constants import ARM_LIMITS, GRIPPER_JOINT

_GRIPPER = ARM_LIMITS[GRIPPER_JOINT]


def gripper_rad_to_percent(rad: float) -> float:
    return (rad - _GRIPPER.lower) / (_GRIPPER.upper - _GRIPPER.lower) * 100.0


def gripper_percent_to_rad(percent: float) -> float:
    return _GRIPPER.lower + percent / 100.0 * (_GRIPPER.upper - _GRIPPER.lower)


def joint_rad_to_lerobot(name: str, rad: float) -> float:
    """A ROS joint position (rad) -> LeRobot's `<name>.pos` (degrees, or 0..100 for the gripper)."""
    return gripper_rad_to_percent(rad) if name == GRIPPER_JOINT else math.degrees(rad)


def joint_lerobot_to_rad(name: str, value: float) -> float:
    """LeRobot's `<name>.pos` -> a ROS joint position (rad)."""
    return gripper_percent_to_rad(value) if name == GRIPPER_JOINT else math.radians(value)
