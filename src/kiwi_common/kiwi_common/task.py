"""The pick task, defined once: where the cube and the obstacle go, what counts as lifted, and how
close the chassis is to the obstacle. The sim, the expert, the gate, the evaluation through ROS
and the gymnasium env (lerobot_env_kiwi) all read it from here. Sizes are the robot's and the
scene's constants (kiwi_description.constants: CUBE_SIZE, OBSTACLE_SIZE), which the MJCF is built
from; collisions are the sim's contacts between the robot and the obstacle
(SimBackend.obstacle_contact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiwi_description import constants as c
from kiwi_description import kinematics as kin

LIFTED_Z = 0.045  # m: cube centre height that counts as lifted (it rests at CUBE_SIZE / 2)
# Success, strictly: the cube's centre HELD_HEIGHT above where it rests, touching both jaws (not
# balanced on one, not tossed), for HELD_S of sim time without a break.
HELD_HEIGHT = 0.05
HELD_Z = c.CUBE_SIZE / 2 + HELD_HEIGHT
HELD_S = 1.0
TASK = "pick up the cube"
START = (0.0, 0.0, 0.0)  # the robot's pose (x, y, yaw) after every reset: the origin, facing +x
OBSTACLE_AT = 0.475  # of the way from the robot to the cube (leaving room to pass it and stand behind)


@dataclass(frozen=True)
class SceneLayout:
    """Where things are after a reset (world frame, metres)."""

    seed: int
    cube_xy: tuple[float, float]
    cube_yaw: float  # rad: the cube turned on the floor (its faces repeat every 90 degrees)
    obstacle_xy: tuple[float, float] | None
    start_yaw: float = 0.0  # rad: the robot's heading after the reset (at the origin)


def sample_layout(seed: int, obstacle: bool) -> SceneLayout:
    """Cube ahead of the robot at a random distance and offset, turned at random; the obstacle, if
    any, OBSTACLE_AT of the way from robot to cube, so that driving straight at the cube hits it.
    The obstacle starts out of the arm's reach (its near face 0.39 m or more ahead; the arm held
    ready reaches 0.3 m), and a robot standing for the grasp behind it clears it by 4 cm or more."""
    rng = np.random.default_rng(seed)
    distance = float(rng.uniform(0.9, 1.1)) if obstacle else float(rng.uniform(0.45, 0.8))
    lateral = float(rng.uniform(-0.1, 0.1))
    cube = (distance, lateral)
    obstacle_xy = (
        (distance * OBSTACLE_AT, lateral * OBSTACLE_AT + float(rng.uniform(-0.02, 0.02)))
        if obstacle
        else None
    )
    # Turned at random, as a person puts a cube down: the wrist must match its faces, and a policy
    # sees its yaw vary (a feature that never varies in the demonstrations has no scale to learn).
    cube_yaw = float(rng.uniform(-math.pi / 4, math.pi / 4))
    return SceneLayout(seed, cube, cube_yaw, obstacle_xy)


# The wider task: the cube WIDE_DISTANCE away at a bearing within WIDE_BEARING of the world's +x,
# the robot starting at the origin heading within WIDE_HEADING of +x, the obstacle on half the
# layouts, where driving straight at the cube hits it. The floor is uniform, so the scene is drawn
# turned by -bearing: the cube ahead along +x (where the expert's paths are laid out) and the
# robot's start heading heading - bearing; the robot sees the same relative scene either way.
WIDE_DISTANCE = (0.6, 1.5)
WIDE_BEARING = math.radians(45.0)
WIDE_HEADING = math.radians(30.0)
# With the obstacle the cube is 0.9 m away or more: nearer, a robot standing for the grasp would
# stand on the obstacle (as in `sample_layout`).
WIDE_OBSTACLE_DISTANCE = 0.9
LAYOUT_KINDS = ("default", "wide")


def sample_wide_layout(seed: int) -> SceneLayout:
    """A layout of the wider task (see WIDE_*): its own distribution, not the one taught."""
    rng = np.random.default_rng([seed, 1])
    obstacle = bool(rng.random() < 0.5)
    low = WIDE_OBSTACLE_DISTANCE if obstacle else WIDE_DISTANCE[0]
    distance = float(rng.uniform(low, WIDE_DISTANCE[1]))
    bearing = float(rng.uniform(-WIDE_BEARING, WIDE_BEARING))
    heading = float(rng.uniform(-WIDE_HEADING, WIDE_HEADING))
    lateral = float(rng.uniform(-0.02, 0.02))  # driving straight at the cube still hits the obstacle
    obstacle_xy = (distance * OBSTACLE_AT, lateral * OBSTACLE_AT) if obstacle else None
    cube_yaw = float(rng.uniform(-math.pi / 4, math.pi / 4))
    return SceneLayout(seed, (distance, lateral), cube_yaw, obstacle_xy, kin.wrap_angle(heading - bearing))


def layout_of(kind: str, seed: int, obstacle: bool) -> SceneLayout:
    """The layout of `seed` in the distribution `kind`: `default` (the task taught; `obstacle`
    says whether the box stands in the way) or `wide` (it decides the obstacle itself)."""
    if kind == "wide":
        return sample_wide_layout(seed)
    if kind != "default":
        raise ValueError(f"unknown layout kind {kind!r}: expected one of {', '.join(LAYOUT_KINDS)}")
    return sample_layout(seed, obstacle)


def is_lifted(cube_z: float) -> bool:
    """The old, loose success (a secondary measure): the cube's centre is above LIFTED_Z once."""
    return cube_z > LIFTED_Z


def is_held_up(cube_z: float, between_jaws: bool) -> bool:
    """One instant of strict success: the cube between the jaws, HELD_HEIGHT above its rest."""
    return between_jaws and cube_z >= HELD_Z


class HoldClock:
    """Strict success as instants arrive in time order: held up without a break for HELD_S."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, t: float, held_up: bool) -> bool:
        """Whether the cube has been held up from HELD_S ago (within a microsecond) until `t`."""
        if not held_up:
            self.since = None
            return False
        if self.since is None:
            self.since = t
        return t - self.since >= HELD_S - 1e-6


def held_at(instants) -> float | None:
    """The first time of (time, held up) instants at which strict success holds; None if never."""
    clock = HoldClock()
    return next((t for t, held_up in instants if clock.update(t, held_up)), None)


def chassis_clearance(robot_xy: tuple[float, float], obstacle_xy: tuple[float, float] | None) -> float:
    """Gap (m) between the chassis and the obstacle box (negative: overlap; inf: no obstacle)."""
    if obstacle_xy is None:
        return math.inf
    return kin.box_clearance(robot_xy, obstacle_xy, c.OBSTACLE_SIZE[:2], c.BASE_BODY_RADIUS)
