"""`expert`: the scripted expert as a teleop source in the sim (ground truth in, commands out).

On every `/joint_states` (one per driver tick) it acts on the latest ground truth and publishes
`/teleop/arm/command` (stamped with the joint state it answered, so recordings pair each
observation with its action) and `/teleop/cmd_vel`, and `/teleop/engaged` = true. `~/reset`
(std_srvs/Trigger) starts a new episode: a fresh detour side, drawn from `seed` unless `side` fixes it.
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger

from kiwi_description import constants as c
from kiwi_description.node_interface import NodeInterface, Param, Topic, declare_params, run_node

from .expert import Expert, WorldState, quat_yaw
from .sources import TOPICS, CommandPublisher

INTERFACE = NodeInterface(
    params=(
        Param("seed", 0, "Seed of the detour sides drawn per episode."),
        Param("side", "random", "Detour side: 'random' (per episode), 'left' or 'right'."),
    ),
    publishes=TOPICS,
    subscribes=(
        Topic("/joint_states", "sensor_msgs/msg/JointState"),
        Topic("/sim/ground_truth/robot", "nav_msgs/msg/Odometry"),
        Topic("/sim/ground_truth/cube", "geometry_msgs/msg/PoseStamped"),
        Topic("/sim/ground_truth/obstacle", "geometry_msgs/msg/PoseStamped"),
    ),
    services=("/expert/reset",),
)
SIDES = {"left": 1, "right": -1}


class ExpertNode(Node):
    def __init__(self) -> None:
        super().__init__("expert")
        self.p = declare_params(self, INTERFACE)
        if self.p.side not in ("random", *SIDES):
            raise ValueError(f"side must be random, left or right, got {self.p.side!r}")
        self.rng = np.random.default_rng(self.p.seed)
        self.robot = self.cube = self.obstacle = None
        self.out = CommandPublisher(self)
        self.create_subscription(Odometry, "/sim/ground_truth/robot", self._on_robot, 10)
        self.create_subscription(PoseStamped, "/sim/ground_truth/cube", lambda m: setattr(self, "cube", m), 10)
        self.create_subscription(PoseStamped, "/sim/ground_truth/obstacle",
                                 lambda m: setattr(self, "obstacle", m), 10)
        self.create_subscription(JointState, "/joint_states", self._on_joint_states, 10)
        self.create_service(Trigger, "/expert/reset", self._on_reset)
        self.expert = self._new_expert()

    def _new_expert(self) -> Expert:
        side = SIDES.get(self.p.side) or int(self.rng.choice((-1, 1)))
        self.get_logger().info(f"new episode: detour to the {'left' if side > 0 else 'right'}")
        return Expert(side)

    def _on_reset(self, _request, response):
        self.expert = self._new_expert()
        response.success, response.message = True, f"side {self.expert.side:+d}"
        return response

    def _on_robot(self, msg: Odometry) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        self.robot = (p.x, p.y, quat_yaw((q.w, q.x, q.y, q.z)))

    def world_state(self, joints: JointState) -> WorldState | None:
        if self.robot is None or self.cube is None or self.obstacle is None:
            return None
        position = dict(zip(joints.name, joints.position))
        cp, cq, op = self.cube.pose.position, self.cube.pose.orientation, self.obstacle.pose.position
        return WorldState(self.robot, (cp.x, cp.y, cp.z), quat_yaw((cq.w, cq.x, cq.y, cq.z)),
                          (op.x, op.y) if op.z > 0 else None,  # parked under the floor when absent
                          tuple(position[j] for j in c.ARM_JOINTS))

    def _on_joint_states(self, msg: JointState) -> None:
        state = self.world_state(msg)
        if state is None:
            self.get_logger().info("waiting for ground truth on /sim/ground_truth/*", throttle_duration_sec=5.0)
            return
        action = self.expert.act(state)
        self.out.arm(dict(zip(c.ARM_JOINTS, action.arm)), stamp=msg.header.stamp)
        self.out.twist(*action.twist)
        self.out.engaged(True)


def main(args=None) -> int:
    return run_node(ExpertNode, "expert", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
