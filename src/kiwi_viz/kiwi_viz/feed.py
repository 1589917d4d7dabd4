"""ROS messages -> `Scene` calls: one table of topics, used by the live node and by bag replay."""

from __future__ import annotations

from collections import Counter

import numpy as np

from kiwi_common.features import joint_state_observation, pose_of
from kiwi_description import constants as c

from .scene import Scene

CAMERA_TOPICS = {f"camera/{cam}/image_raw/compressed": cam for cam in c.CAMERAS}
# Relative names (a graph's namespace applies) -> message types.
TOPICS: dict[str, str] = {
    "joint_states": "sensor_msgs/msg/JointState",
    "arm/command": "sensor_msgs/msg/JointState",
    "cmd_vel": "geometry_msgs/msg/Twist",
    "odom": "nav_msgs/msg/Odometry",
    "sim/ground_truth/robot": "nav_msgs/msg/Odometry",
    "sim/ground_truth/cube": "geometry_msgs/msg/PoseStamped",
    "sim/ground_truth/obstacle": "geometry_msgs/msg/PoseStamped",
    **{topic: "sensor_msgs/msg/CompressedImage" for topic in CAMERA_TOPICS},
    "policy/planned_path": "nav_msgs/msg/Path",
    "intervention": "std_msgs/msg/Bool",
    "expert/takeover_reason": "std_msgs/msg/String",
    "diagnostics": "diagnostic_msgs/msg/DiagnosticArray",
}


class MessageFeed:
    """Hands each message to the scene at its time. Images are thinned to `image_hz` per camera
    (the viewer needs no more, and decoding is the viewer's cost); a message that cannot be shown
    is counted in `skipped` by topic, not raised."""

    def __init__(self, scene: Scene, image_hz: float = 10.0) -> None:
        """`image_hz` 0: every image."""
        self.scene = scene
        self.image_period = 1.0 / image_hz if image_hz > 0 else 0.0
        self.last_image: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()
        self.handlers = {
            "joint_states": self._joint_states,
            "arm/command": lambda m: self.scene.arm_command(dict(zip(m.name, m.position))),
            "cmd_vel": self._cmd_vel,
            "odom": lambda m: self._pose("odom", m),
            "sim/ground_truth/robot": lambda m: self._pose("ground_truth", m),
            "sim/ground_truth/cube": self._cube,
            "sim/ground_truth/obstacle": self._obstacle,
            "policy/planned_path": self._planned_path,
            "intervention": lambda m: self.scene.intervention(bool(m.data)),
            "expert/takeover_reason": lambda m: self.scene.takeover(str(m.data)),
            "diagnostics": self._diagnostics,
        }

    def handle(self, topic: str, msg, seconds: float) -> bool:
        """Show `msg` from `topic` (relative or absolute name) at `seconds`; False if skipped."""
        topic = topic.lstrip("/")
        camera = CAMERA_TOPICS.get(topic)
        if camera is not None and seconds - self.last_image.get(camera, -np.inf) < self.image_period:
            return False
        handler = self.handlers.get(topic)
        if handler is None and camera is None:
            return False
        self.scene.at(seconds)
        try:
            if camera is not None:
                self._image(camera, msg)
                self.last_image[camera] = seconds
            else:
                handler(msg)
        except (KeyError, ValueError, AttributeError, IndexError):
            self.skipped[topic] += 1
            return False
        return True

    def _joint_states(self, msg) -> None:
        state, _ = joint_state_observation(msg.name, msg.position, msg.velocity)
        self.scene.state(state)

    def _cmd_vel(self, msg) -> None:
        twist = getattr(msg, "twist", msg)  # Twist, or TwistStamped (the nav2 graph)
        self.scene.base_command(twist.linear.x, twist.linear.y, twist.angular.z)

    def _pose(self, source: str, msg) -> None:
        (x, y, _), yaw = pose_of(msg)
        self.scene.robot_pose(source, x, y, yaw)

    def _cube(self, msg) -> None:
        (x, y, z), yaw = pose_of(msg)
        self.scene.cube(x, y, z, yaw)

    def _obstacle(self, msg) -> None:
        (x, y, z), yaw = pose_of(msg)
        if z > 0:  # the sim parks an unused obstacle under the floor
            self.scene.obstacle(x, y, yaw)

    def _image(self, camera: str, msg) -> None:
        fmt = msg.format.lower()
        if "jpeg" not in fmt and "jpg" not in fmt:
            raise ValueError(f"unsupported image format {msg.format!r}")
        self.scene.jpeg(camera, bytes(msg.data))

    def _planned_path(self, msg) -> None:
        points = np.array([(p.pose.position.x, p.pose.position.y) for p in msg.poses], float)
        self.scene.planned_path(points)

    def _diagnostics(self, msg) -> None:
        for status in msg.status:
            level = status.level[0] if isinstance(status.level, (bytes, bytearray)) else int(status.level)
            values = {kv.key: kv.value for kv in status.values}
            self.scene.diagnostic(status.name, level, status.message, values)
