"""The one mapping between ROS topics and LeRobot's LeKiwi dataset features.

Recorder, converter and policy node all read it; the converter stores it in the dataset
(`meta/kiwi_mapping.json`) so a policy is deployed with the mapping it was trained on.
Feature names, order, dtypes and units are LeRobot's LeKiwi schema (`lekiwi.py` `_state_ft`,
`hw_to_dataset_features`); `intervention` is our addition, and so is the optional
`observation.environment_state`: the cube and the obstacle relative to the robot, from the sim's
ground truth (standing in for a detector, so a policy can be trained on a CPU without images).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from kiwi_description import constants as c
from kiwi_description import kinematics as kin

from .units import joint_lerobot_to_rad, joint_rad_to_lerobot

MOTOR_NAMES = tuple(f"{joint}.pos" for joint in c.ARM_JOINTS) + ("x.vel", "y.vel", "theta.vel")
MAPPING_FILE = "kiwi_mapping.json"
INTERVENTION = "intervention"
ENVIRONMENT_STATE = "observation.environment_state"
# In the robot's base frame (m); the cube's yaw as sin/cos of 4x its angle (its faces repeat every
# 90 degrees, and this is continuous where the angle mod 90 is not); obstacle zeros when absent.
ENVIRONMENT_NAMES = (
    "cube.x",
    "cube.y",
    "cube.z",
    "cube.yaw4_sin",
    "cube.yaw4_cos",
    "obstacle.x",
    "obstacle.y",
    "obstacle.present",
)
GROUND_TRUTH_TOPICS = {
    "robot": "/sim/ground_truth/robot",
    "cube": "/sim/ground_truth/cube",
    "obstacle": "/sim/ground_truth/obstacle",
}
GROUND_TRUTH_TYPES = {
    "robot": "nav_msgs/msg/Odometry",
    "cube": "geometry_msgs/msg/PoseStamped",
    "obstacle": "geometry_msgs/msg/PoseStamped",
}


def node_topic(name: str) -> str:
    """A mapping's topic as a node subscribes to it: relative, so it resolves in the node's namespace.
    Mappings (and bags) name topics as in the root namespace, so datasets do not depend on it."""
    return name.lstrip("/")


def bag_topic(name: str) -> str:
    """A topic as bags name it: the root-namespace form of a relative or absolute name."""
    return "/" + node_topic(name)


def image_feature(camera: str) -> str:
    return f"observation.images.{camera}"


@dataclass(frozen=True)
class Mapping:
    """Topics are named as in the root namespace (as bags store them); see `node_topic`."""

    fps: float = c.CONTROL_RATE_HZ
    robot_type: str = "lekiwi"
    # Observation: arm positions and wheel velocities (-> measured body twist, as LeRobot's LeKiwi).
    state_topic: str = "/joint_states"
    # Action: what the mux sends the driver.
    arm_command_topic: str = "/arm/command"
    cmd_vel_topic: str = "/cmd_vel"
    intervention_topic: str = "/intervention"
    # camera -> topic (CompressedImage when the name ends in /compressed, else Image).
    cameras: dict[str, str] = field(
        default_factory=lambda: {cam: f"/camera/{cam}/image_raw/compressed" for cam in c.CAMERAS}
    )
    # camera -> (height, width) as stored in the dataset.
    image_shapes: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {cam: (spec.height, spec.width) for cam, spec in c.CAMERAS.items()}
    )
    # robot (Odometry), cube, obstacle (PoseStamped) -> `observation.environment_state`; empty: none.
    ground_truth: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        # A topic given relative ("teleop/cmd_vel") means the same as in the root namespace: bags
        # name it "/teleop/cmd_vel", and the converter must find it there.
        for name in ("state_topic", "arm_command_topic", "cmd_vel_topic", "intervention_topic"):
            object.__setattr__(self, name, bag_topic(getattr(self, name)))
        for name in ("cameras", "ground_truth"):
            object.__setattr__(self, name, {k: bag_topic(t) for k, t in getattr(self, name).items()})

    def topics(self) -> list[str]:
        return [
            self.state_topic,
            self.arm_command_topic,
            self.cmd_vel_topic,
            self.intervention_topic,
            *self.cameras.values(),
            *self.ground_truth.values(),
        ]

    def streams(self) -> list[str]:
        """The topics every frame is read from (the others are commands and flags, sent when they
        change): an episode lacking one of these has no frames."""
        return [self.state_topic, *self.cameras.values(), *self.ground_truth.values()]

    def features(self, use_videos: bool = True) -> dict:
        """LeRobot features, in LeRobot's LeKiwi order, plus `intervention`."""
        vector = {"dtype": "float32", "shape": (len(MOTOR_NAMES),), "names": list(MOTOR_NAMES)}
        feats = {"action": dict(vector), "observation.state": dict(vector)}
        for cam in self.cameras:
            h, w = self.image_shapes[cam]
            feats[image_feature(cam)] = {
                "dtype": "video" if use_videos else "image",
                "shape": (h, w, 3),
                "names": ["height", "width", "channels"],
            }
            if use_videos:
                feats[image_feature(cam)]["info"] = {"is_depth_map": False}
        if self.ground_truth:
            feats[ENVIRONMENT_STATE] = {
                "dtype": "float32",
                "shape": (len(ENVIRONMENT_NAMES),),
                "names": list(ENVIRONMENT_NAMES),
            }
        feats[INTERVENTION] = {"dtype": "float32", "shape": (1,), "names": [INTERVENTION]}
        return feats

    def with_image_size(self, height: int, width: int) -> Mapping:
        """The same mapping with every camera stored at height x width."""
        return replace(self, image_shapes={cam: (height, width) for cam in self.cameras})

    def state_only(self) -> Mapping:
        """No cameras; the cube and obstacle from the sim's ground truth instead (CPU training)."""
        return replace(self, cameras={}, image_shapes={}, ground_truth=dict(GROUND_TRUTH_TOPICS))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Mapping:
        """The mapping in `text`; MappingError says what is wrong with it."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(f"not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise MappingError(f"expected a JSON object, got {type(data).__name__}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise MappingError(f"unknown mapping fields: {', '.join(sorted(unknown))}")
        problems = [f"{k} {_MAPPING_CHECKS[k][1]}" for k, v in data.items() if not _MAPPING_CHECKS[k][0](v)]
        if problems:
            raise MappingError("; ".join(problems))
        if "image_shapes" in data:
            data["image_shapes"] = {k: tuple(v) for k, v in data["image_shapes"].items()}
        mapping = cls(**data)
        unsized = [cam for cam in mapping.cameras if cam not in mapping.image_shapes]
        if unsized:
            raise MappingError(f"image_shapes lacks the camera(s) {', '.join(unsized)}")
        return mapping

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """The mapping file at `path`; MappingError names the file and what is wrong."""
        try:
            return cls.from_json(Path(path).read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(
                f"cannot read the mapping {path}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        except MappingError as exc:
            raise MappingError(f"the mapping {path}: {exc}") from None


class MappingError(ValueError):
    """A mapping file that cannot be used; the message says why."""


def _is_topic(value) -> bool:
    return isinstance(value, str) and bool(value.strip("/"))


def _is_size(value) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 4096 for v in value)
    )


# field -> (check, what it must be), for files written by hand.
_MAPPING_CHECKS = {
    "fps": (
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1000,
        "must be a number of frames per second in (0, 1000]",
    ),
    "robot_type": (lambda v: isinstance(v, str), "must be a string"),
    **{
        name: (_is_topic, "must be a topic name")
        for name in ("state_topic", "arm_command_topic", "cmd_vel_topic", "intervention_topic")
    },
    "cameras": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_topic(t) for k, t in v.items()),
        "must map camera names to topic names",
    ),
    "ground_truth": (
        lambda v: (
            isinstance(v, dict)
            and set(v) in (set(), set(GROUND_TRUTH_TOPICS))
            and all(_is_topic(t) for t in v.values())
        ),
        f"must be empty or map {', '.join(GROUND_TRUTH_TOPICS)} to topic names",
    ),
    "image_shapes": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and _is_size(s) for k, s in v.items()),
        "must map cameras to [height, width] (1..4096 pixels)",
    ),
}


def state_vector(arm_positions: dict[str, float], wheel_velocities) -> np.ndarray:
    """`observation.state`: arm positions (rad, by name) and wheel speeds (rad/s; left, back,
    right) -> LeRobot units (deg, gripper 0..100, m/s, m/s, deg/s)."""
    vx, vy, wz = kin.wheel_speeds_to_body(wheel_velocities)
    return np.array(
        [joint_rad_to_lerobot(j, arm_positions[j]) for j in c.ARM_JOINTS] + [vx, vy, math.degrees(wz)],
        dtype=np.float32,
    )


def arm_positions(names, positions) -> dict[str, float] | None:
    """The arm joints' positions (rad, by name) in a /joint_states message; None if one is missing."""
    position = dict(zip(names, positions))
    if not all(j in position for j in c.ARM_JOINTS):
        return None
    return {j: position[j] for j in c.ARM_JOINTS}


def joint_state_observation(names, positions, velocities) -> tuple[np.ndarray, dict[str, float]]:
    """A /joint_states message's fields -> (`observation.state`, arm positions in rad by name).
    A missing joint raises KeyError naming it."""
    position, velocity = dict(zip(names, positions)), dict(zip(names, velocities))
    arm = {j: position[j] for j in c.ARM_JOINTS}
    return state_vector(arm, [velocity[w] for w in c.WHEEL_JOINTS]), arm


def action_vector(arm_targets: dict[str, float], twist: tuple[float, float, float]) -> np.ndarray:
    """`action`: arm targets (rad, by name) and a body twist (m/s, m/s, rad/s) -> LeRobot units."""
    vx, vy, wz = twist
    return np.array(
        [joint_rad_to_lerobot(j, arm_targets[j]) for j in c.ARM_JOINTS] + [vx, vy, math.degrees(wz)],
        dtype=np.float32,
    )


def split_action(action) -> tuple[dict[str, float], tuple[float, float, float]]:
    """The inverse of `action_vector`: arm targets (rad, by name) and a twist (m/s, rad/s)."""
    values = [float(v) for v in action]
    if len(values) != len(MOTOR_NAMES):
        raise ValueError(
            f"an action has {len(MOTOR_NAMES)} values ({', '.join(MOTOR_NAMES)}), got {len(values)}"
        )
    arm = {j: joint_lerobot_to_rad(j, v) for j, v in zip(c.ARM_JOINTS, values)}
    vx, vy, wz_deg = values[len(c.ARM_JOINTS) :]
    return arm, (vx, vy, math.radians(wz_deg))


def environment_vector(
    robot: tuple[float, float, float],
    cube: tuple[float, float, float],
    cube_yaw: float,
    obstacle: tuple[float, float] | None,
) -> np.ndarray:
    """`observation.environment_state` from world-frame ground truth: robot (x, y, yaw), cube
    (x, y, z) and yaw, obstacle (x, y) or None."""
    rx, ry, ryaw = robot
    cx, cy = kin.world_to_body(cube[0] - rx, cube[1] - ry, ryaw)
    yaw4 = 4.0 * (cube_yaw - ryaw)
    ox, oy = (
        kin.world_to_body(obstacle[0] - rx, obstacle[1] - ry, ryaw) if obstacle is not None else (0.0, 0.0)
    )
    return np.array(
        [cx, cy, cube[2], math.sin(yaw4), math.cos(yaw4), ox, oy, float(obstacle is not None)],
        dtype=np.float32,
    )


def pose_of(msg) -> tuple[tuple[float, float, float], float]:
    """Position and yaw of a PoseStamped or Odometry message."""
    pose = msg.pose.pose if hasattr(msg.pose, "pose") else msg.pose
    p, q = pose.position, pose.orientation
    return (p.x, p.y, p.z), kin.quat_yaw((q.w, q.x, q.y, q.z))


def ground_truth_poses(robot_msg, cube_msg, obstacle_msg):
    """The sim's ground-truth messages -> robot (x, y, yaw), cube (x, y, z), cube yaw, obstacle
    (x, y) or None (the sim parks an unused obstacle under the floor)."""
    (rx, ry, _), ryaw = pose_of(robot_msg)
    cube, cube_yaw = pose_of(cube_msg)
    (ox, oy, oz), _ = pose_of(obstacle_msg)
    return (rx, ry, ryaw), cube, cube_yaw, (ox, oy) if oz > 0 else None


def ground_truth_observation(robot_msg, cube_msg, obstacle_msg) -> np.ndarray:
    """`observation.environment_state` from the sim's ground-truth messages."""
    return environment_vector(*ground_truth_poses(robot_msg, cube_msg, obstacle_msg))
