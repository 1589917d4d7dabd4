"""LeKiwi's constants in one place: names, motor ids, limits, geometry.

Everything else (URDF, MJCF, kinematics, the driver, the dataset mapping) is derived from this
module, so a number changes here or nowhere.

Sources: joint names, motor ids and the base's wheel radius, base radius, wheel angles and
3000 steps/s clamp are LeRobot's (`robots/lekiwi/lekiwi.py`). Arm joint limits and link lengths are
the SO-101 "new calibration" description (zero at mid-range; TheRobotStudio SO-ARM100), rounded to
the millimetre. Base body sizes are approximations of the printed LeKiwi chassis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# --- names (LeRobot's motor names; ROS joint names are the same strings) -------------------------

ARM_JOINTS: tuple[str, ...] = (
    "arm_shoulder_pan",
    "arm_shoulder_lift",
    "arm_elbow_flex",
    "arm_wrist_flex",
    "arm_wrist_roll",
    "arm_gripper",
)
WHEEL_JOINTS: tuple[str, ...] = ("base_left_wheel", "base_back_wheel", "base_right_wheel")
ALL_JOINTS: tuple[str, ...] = ARM_JOINTS + WHEEL_JOINTS
GRIPPER_JOINT = "arm_gripper"

MOTOR_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(ALL_JOINTS)}
STS3215_MODEL_NUMBER = 777
STEPS_PER_REV = 4096


@dataclass(frozen=True)
class JointLimit:
    """Position limits in radians (the gripper's in radians of jaw opening)."""

    lower: float
    upper: float

    def clamp(self, value: float) -> float:
        return min(max(value, self.lower), self.upper)


def _deg(lower: float, upper: float) -> JointLimit:
    return JointLimit(math.radians(lower), math.radians(upper))


# Zero of every arm joint is the middle of its range (LeRobot's use_degrees=True convention).
ARM_LIMITS: dict[str, JointLimit] = {
    "arm_shoulder_pan": _deg(-110.0, 110.0),
    "arm_shoulder_lift": _deg(-100.0, 100.0),
    "arm_elbow_flex": _deg(-96.8, 96.8),
    "arm_wrist_flex": _deg(-95.0, 95.0),
    "arm_wrist_roll": _deg(-157.2, 162.8),
    # LeRobot's gripper is 0 (closed) .. 100 (open); the jaw turns through this range.
    "arm_gripper": _deg(-10.0, 100.0),
}
# Joint speed limits (rad/s) used in the URDF and for the default per-tick step clamp.
ARM_MAX_VELOCITY = math.radians(180.0)
# Stall torque of an STS3215 at 7.4 V is about 1.9 N m (12 V variant: 3 N m).
ARM_MAX_EFFORT = 1.9

# --- base (LeRobot's LeKiwi._body_to_wheel_raw) ---------------------------------------------------

WHEEL_RADIUS = 0.05  # m
BASE_RADIUS = 0.125  # m, centre to wheel contact
# Direction of each wheel's rim travel for positive wheel speed, in the base frame (x forward,
# y left), order left, back, right: LeRobot's angles [240, 0, 120] - 90 degrees.
WHEEL_DRIVE_ANGLES = tuple(math.radians(a) for a in (150.0, -90.0, 30.0))
# Where each wheel sits around the centre: 90 degrees behind its drive direction.
WHEEL_MOUNT_ANGLES = tuple(a - math.pi / 2 for a in WHEEL_DRIVE_ANGLES)
MAX_WHEEL_RAW = 3000  # steps/s; LeRobot scales all three wheels down together above this
WHEEL_WIDTH = 0.03

# Chassis (approximate): a disc under the wheels' circle, top plate at BASE_HEIGHT.
BASE_BODY_RADIUS = 0.14
BASE_BODY_HEIGHT = 0.07
BASE_BODY_Z = 0.03  # bottom of the chassis above the floor
BASE_HEIGHT = BASE_BODY_Z + BASE_BODY_HEIGHT  # top plate, where the arm is mounted

# --- arm geometry (SO-101, metres) ----------------------------------------------------------------

ARM_MOUNT_XYZ = (0.07, 0.0, BASE_HEIGHT)  # arm base on the front of the top plate
SHOULDER_HEIGHT = 0.062  # pan axis to shoulder-lift axis, along z
SHOULDER_FORWARD = 0.030  # shoulder-lift axis ahead of the pan axis
UPPER_ARM_LENGTH = 0.113  # shoulder lift -> elbow
FOREARM_LENGTH = 0.135  # elbow -> wrist flex
WRIST_LENGTH = 0.061  # wrist flex -> wrist roll / gripper palm
JAW_LENGTH = 0.075  # palm -> finger tips
ARM_LINK_RADIUS = 0.018

# --- cameras (LeRobot's defaults: size after rotation, 30 fps) ------------------------------------


@dataclass(frozen=True)
class CameraSpec:
    name: str
    width: int
    height: int
    fps: float
    fovy_deg: float
    rotation_deg: int  # clockwise, applied after capture (LeRobot's Cv2Rotation)


CAMERAS: dict[str, CameraSpec] = {
    "front": CameraSpec("front", 640, 480, 30.0, 60.0, 180),
    "wrist": CameraSpec("wrist", 480, 640, 30.0, 70.0, 90),
}
# Front camera on the chassis, looking forward and down at the workspace in front of the arm.
FRONT_CAMERA_XYZ = (0.12, 0.0, BASE_HEIGHT + 0.05)
FRONT_CAMERA_PITCH_DEG = 30.0  # downwards

# --- scene (sim) ----------------------------------------------------------------------------------

CUBE_SIZE = 0.03  # edge, m
CUBE_MASS = 0.03  # kg
OBSTACLE_SIZE = (0.08, 0.20, 0.12)  # x, y, z extents, m

# --- control ---------------------------------------------------------------------------------------

CONTROL_RATE_HZ = 30.0
# No command for this long: the driver stops the base and holds the arm. Every command source
# publishes at CONTROL_RATE_HZ (7 missed commands); with 0.25 s the wheels are at rest 0.37-0.40 s
# after a policy node is killed mid-motion, within the 0.5 s a stop must take (test_driver_live.py).
CMD_TIMEOUT_S = 0.25
