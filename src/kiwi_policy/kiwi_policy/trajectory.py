"""A chunk of LeRobot actions as a trajectory: arm joint targets plus the base's planned path."""

from __future__ import annotations

import math

import numpy as np

from kiwi_common.features import split_action
from kiwi_description import constants as c

BASE_AXES = ("base_x", "base_y", "base_yaw")  # planar pose relative to where the chunk starts
CHUNK_JOINTS = (*c.ARM_JOINTS, *BASE_AXES)


def chunk_trajectory(actions: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 9) LeRobot actions -> positions and velocities (T, 9) over CHUNK_JOINTS: arm targets (rad)
    and their rates, and the base pose integrated from the commanded body twists (m, m, rad) with
    the twist in the start frame as its rate."""
    positions, velocities = [], []
    x = y = yaw = 0.0
    previous = None
    for action in actions:
        arm, (vx, vy, wz) = split_action(action)
        arm_now = np.array([arm[j] for j in c.ARM_JOINTS])
        arm_rate = np.zeros_like(arm_now) if previous is None else (arm_now - previous) / dt
        world_vx, world_vy = vx * math.cos(yaw) - vy * math.sin(yaw), vx * math.sin(yaw) + vy * math.cos(yaw)
        positions.append([*arm_now, x, y, yaw])
        velocities.append([*arm_rate, world_vx, world_vy, wz])
        x, y, yaw = x + world_vx * dt, y + world_vy * dt, yaw + wz * dt
        previous = arm_now
    return np.array(positions), np.array(velocities)
