"""The robot's kinematic tree as data, built from `constants`; `urdf` and `mjcf` render it.

Frames: `base_link` on the floor under the base centre (x forward, y left, z up; REP-103/105).
At zero joint angles the upper arm points up, the forearm, wrist and jaws point forward: the
mid-range pose that LeRobot's calibration takes as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import constants as c


@dataclass(frozen=True)
class Shape:
    """A primitive: 'box' (size = full extents), 'cylinder'/'capsule' (radius, length along the
    local z axis), 'sphere' (radius)."""

    kind: str
    size: tuple[float, ...]
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rgba: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)


@dataclass(frozen=True)
class Link:
    name: str
    mass: float
    shapes: tuple[Shape, ...] = ()
    collide: bool = True


@dataclass(frozen=True)
class Joint:
    name: str
    kind: str  # 'revolute', 'continuous' or 'fixed'
    parent: str
    child: str
    xyz: tuple[float, float, float]
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    limit: c.JointLimit | None = None


@dataclass(frozen=True)
class Camera:
    name: str
    link: str
    xyz: tuple[float, float, float]
    # Optical axes in the link frame: image right (x) and image down is -up.
    right: tuple[float, float, float]
    up: tuple[float, float, float]
    spec: c.CameraSpec = field(default=None)  # type: ignore[assignment]


ORANGE = (0.95, 0.5, 0.1, 1.0)
DARK = (0.15, 0.15, 0.15, 1.0)
WHITE = (0.9, 0.9, 0.9, 1.0)
_HALF_PI = math.pi / 2


def _along_x(length: float, radius: float, rgba=ORANGE) -> Shape:
    """A capsule from the link origin along +x."""
    return Shape("capsule", (radius, length), xyz=(length / 2, 0.0, 0.0), rpy=(0.0, _HALF_PI, 0.0), rgba=rgba)


def _along_z(length: float, radius: float, rgba=ORANGE) -> Shape:
    return Shape("capsule", (radius, length), xyz=(0.0, 0.0, length / 2), rgba=rgba)


def links() -> tuple[Link, ...]:
    r = c.ARM_LINK_RADIUS
    base = Link(
        "base_link",
        mass=2.5,
        shapes=(
            Shape(
                "cylinder",
                (c.BASE_BODY_RADIUS, c.BASE_BODY_HEIGHT),
                xyz=(0.0, 0.0, c.BASE_BODY_Z + c.BASE_BODY_HEIGHT / 2),
                rgba=WHITE,
            ),
        ),
    )
    wheels = tuple(
        Link(
            name,
            mass=0.15,
            collide=False,
            shapes=(Shape("cylinder", (c.WHEEL_RADIUS, c.WHEEL_WIDTH), rpy=(0.0, _HALF_PI, 0.0), rgba=DARK),),
        )
        for name in c.WHEEL_JOINTS
    )
    jaw_w = 0.006
    arm = (
        Link("shoulder_link", 0.10, (_along_z(c.SHOULDER_HEIGHT, r * 1.2),)),
        Link("upper_arm_link", 0.10, (_along_z(c.UPPER_ARM_LENGTH, r),)),
        Link("forearm_link", 0.10, (_along_x(c.FOREARM_LENGTH, r * 0.9),)),
        Link("wrist_link", 0.05, (_along_x(c.WRIST_LENGTH * 0.6, r * 0.8),)),
        # Palm plus the fixed jaw on the -y side.
        Link(
            "gripper_link",
            0.05,
            (
                Shape("box", (0.02, 0.05, 0.03), xyz=(0.01, 0.0, 0.0), rgba=ORANGE),
                Shape(
                    "box", (c.JAW_LENGTH, jaw_w, 0.02), xyz=(0.02 + c.JAW_LENGTH / 2, -0.02, 0.0), rgba=DARK
                ),
            ),
        ),
        # The moving jaw pivots at the palm on the +y side and closes towards the fixed jaw.
        Link(
            "moving_jaw_link",
            0.02,
            (Shape("box", (c.JAW_LENGTH, jaw_w, 0.02), xyz=(c.JAW_LENGTH / 2, 0.0, 0.0), rgba=DARK),),
        ),
    )
    return (base,) + wheels + arm


def joints() -> tuple[Joint, ...]:
    lim = c.ARM_LIMITS
    wheels = tuple(
        Joint(
            name,
            "continuous",
            "base_link",
            name,
            xyz=(c.BASE_RADIUS * math.cos(p), c.BASE_RADIUS * math.sin(p), c.WHEEL_RADIUS),
            # Axle along the mount direction, pointing inwards, so that a positive wheel speed
            # rolls the base along the wheel's drive direction (see kinematics.wheel_matrix).
            rpy=(0.0, 0.0, p),
            axis=(-1.0, 0.0, 0.0),
        )
        for name, p in zip(c.WHEEL_JOINTS, c.WHEEL_MOUNT_ANGLES)
    )
    arm = (
        Joint(
            "arm_shoulder_pan",
            "revolute",
            "base_link",
            "shoulder_link",
            c.ARM_MOUNT_XYZ,
            (0.0, 0.0, 1.0),
            limit=lim["arm_shoulder_pan"],
        ),
        # Positive lift tilts the upper arm forward (towards +x); likewise elbow and wrist flex.
        Joint(
            "arm_shoulder_lift",
            "revolute",
            "shoulder_link",
            "upper_arm_link",
            (c.SHOULDER_FORWARD, 0.0, c.SHOULDER_HEIGHT),
            (0.0, 1.0, 0.0),
            limit=lim["arm_shoulder_lift"],
        ),
        Joint(
            "arm_elbow_flex",
            "revolute",
            "upper_arm_link",
            "forearm_link",
            (0.0, 0.0, c.UPPER_ARM_LENGTH),
            (0.0, 1.0, 0.0),
            limit=lim["arm_elbow_flex"],
        ),
        Joint(
            "arm_wrist_flex",
            "revolute",
            "forearm_link",
            "wrist_link",
            (c.FOREARM_LENGTH, 0.0, 0.0),
            (0.0, 1.0, 0.0),
            limit=lim["arm_wrist_flex"],
        ),
        Joint(
            "arm_wrist_roll",
            "revolute",
            "wrist_link",
            "gripper_link",
            (c.WRIST_LENGTH, 0.0, 0.0),
            (1.0, 0.0, 0.0),
            limit=lim["arm_wrist_roll"],
        ),
        # Positive gripper angle opens (jaw swings towards +y, away from the fixed jaw).
        Joint(
            "arm_gripper",
            "revolute",
            "gripper_link",
            "moving_jaw_link",
            (0.02, 0.02, 0.0),
            (0.0, 0.0, 1.0),
            limit=lim["arm_gripper"],
        ),
    )
    return wheels + arm


def cameras() -> tuple[Camera, ...]:
    p = math.radians(c.FRONT_CAMERA_PITCH_DEG)
    return (
        Camera(
            "front",
            "base_link",
            c.FRONT_CAMERA_XYZ,
            right=(0.0, -1.0, 0.0),
            up=(math.sin(p), 0.0, math.cos(p)),
            spec=c.CAMERAS["front"],
        ),
        # Between the jaws, looking along them.
        Camera(
            "wrist",
            "gripper_link",
            (0.0, 0.0, 0.03),
            right=(0.0, -1.0, 0.0),
            up=(0.0, 0.0, 1.0),
            spec=c.CAMERAS["wrist"],
        ),
    )
