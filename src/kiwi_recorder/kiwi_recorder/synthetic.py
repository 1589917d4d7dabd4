"""Synthetic episode bags, as the recorder writes them, for tests and benchmarks: no sim, no nodes,
known contents."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.serialization import serialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from kiwi_common.features import Mapping
from kiwi_common.stamps import time_msg
from kiwi_description import constants as c

from .bag import EpisodeBag


def write_gated_episode(path: Path, frames: int = 60, corrected=range(20, 35)) -> None:
    """A human-gated rollout as the recorder writes it (flushed each second): joint states, the
    expert's commands, /intervention, and the sim's ground truth, with the robot at (0.1, 0) facing +x."""

    topics = {
        "/joint_states": "sensor_msgs/msg/JointState",
        "/teleop/arm/command": "sensor_msgs/msg/JointState",
        "/teleop/cmd_vel": "geometry_msgs/msg/Twist",
        "/intervention": "std_msgs/msg/Bool",
        "/sim/ground_truth/robot": "nav_msgs/msg/Odometry",
        "/sim/ground_truth/cube": "geometry_msgs/msg/PoseStamped",
        "/sim/ground_truth/obstacle": "geometry_msgs/msg/PoseStamped",
    }
    bag = EpisodeBag(path, topics, {"task": "pick up the cube"})
    for k in range(frames):
        t = 5.0 + k / 30
        ns = int(round(t * 1e9))
        joints = JointState(name=list(c.ALL_JOINTS), position=[0.0] * 9, velocity=[0.0] * 9)
        joints.header.stamp = time_msg(t)
        command = JointState(name=list(c.ARM_JOINTS), position=[0.01 * k] * 6)
        command.header.stamp = time_msg(t)
        twist = Twist()
        twist.linear.x = 0.1
        robot = Odometry()
        robot.header.stamp = time_msg(t)
        robot.pose.pose.position.x, robot.pose.pose.orientation.w = 0.1, 1.0
        cube, obstacle = PoseStamped(), PoseStamped()
        for pose, xyz in ((cube, (0.6, 0.05, 0.015)), (obstacle, (0.3, 0.0, 0.06))):
            pose.header.stamp = time_msg(t)
            pose.pose.position.x, pose.pose.position.y, pose.pose.position.z = xyz
            pose.pose.orientation.w = 1.0
        for topic, msg in (
            ("/joint_states", joints),
            ("/teleop/arm/command", command),
            ("/teleop/cmd_vel", twist),
            ("/intervention", Bool(data=k in corrected)),
            ("/sim/ground_truth/robot", robot),
            ("/sim/ground_truth/cube", cube),
            ("/sim/ground_truth/obstacle", obstacle),
        ):
            bag.write(topic, ns, serialize_message(msg))
        if k % 30 == 29:
            bag.flush()
    bag.close()


def gated_mapping() -> Mapping:
    """The state-only mapping with the expert's command topics of `write_gated_episode`."""
    return replace(
        Mapping().state_only(), arm_command_topic="/teleop/arm/command", cmd_vel_topic="/teleop/cmd_vel"
    )
