"""`expert`: the scripted expert as a teleop source in the sim (ground truth in, commands out).

On every `/joint_states` (one per driver tick) it acts on the latest ground truth and publishes
`/teleop/arm/command` (stamped with the joint state it answered, so recordings pair each
observation with its action) and `/teleop/cmd_vel`. `/expert/reset` (std_srvs/Trigger) starts a
new episode: a fresh detour side, drawn from `seed` unless `side` fixes it.

`takeover` says when it claims control (`/teleop/engaged`, which the mux obeys in shared mode):
`always` (a teleop source: demonstrations), `gate` (human-gated DAgger: when the state the
policy drives into is unsafe or heads for failure, by the rules of `gating.py`, until it is safe
again) or `never` (it only labels: DAgger with the expert as oracle, and evaluation). With `gate`
and `never` it publishes the gate's verdict on `/expert/gate` (in `never` mode: when it would have
taken over) and each take-over's reason on `/expert/takeover_reason`, judges the policy only while
its commands on /policy/* are fresh, and takes the detour side the policy heads for: passing the
obstacle on the other side is not an error to correct.
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from kiwi_common.features import ground_truth_poses
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_common.stamps import stamp_seconds
from kiwi_description import constants as c

from .expert import Expert, WorldState, side_agreeing_with
from .gating import Gate, GateRule, gate_observation
from .sources import TOPICS, CommandPublisher

TAKEOVER = ("always", "gate", "never")
_RULE = GateRule()

INTERFACE = NodeInterface(
    params=(
        Param("seed", 0, "Seed of the detour sides drawn per episode."),
        Param("side", "random", "Detour side: 'random' (per episode), 'left' or 'right'."),
        Param(
            "takeover",
            "always",
            f"When the expert claims control: {', '.join(TAKEOVER)} (see the module doc).",
        ),
        Param(
            "gate_clearance",
            _RULE.clearance,
            "Gate: chassis-obstacle gap (now or predicted) that is unsafe (m).",
        ),
        Param(
            "gate_horizon_s", _RULE.horizon_s, "Gate: seconds of the policy's twist for the predicted gap."
        ),
        Param("gate_stray", _RULE.stray, "Gate: distance from the expert's path that is straying (m)."),
        Param("gate_stall_s", _RULE.stall_s, "Gate: seconds without progress before taking over."),
        Param("gate_min_control_s", _RULE.min_control_s, "Gate: seconds the expert drives at least."),
        Param(
            "gate_lift_stall_s",
            _RULE.lift_stall_s,
            "Gate: seconds a cube off the floor, below the hold height, may go without rising (0: off).",
        ),
        Param(
            "gate_patience_s",
            _RULE.patience_s,
            "Gate: seconds the jaws may stay shut on nothing, or the base past the grasp stand.",
        ),
        Param("policy_timeout", 0.25, "Gate: policy commands older than this (s) are not judged."),
    ),
    publishes=(
        *TOPICS,
        Topic("expert/gate", "std_msgs/msg/Bool"),
        Topic("expert/takeover_reason", "std_msgs/msg/String"),
    ),
    subscribes=(
        Topic("policy/arm/command", "sensor_msgs/msg/JointState"),
        Topic("policy/cmd_vel", "geometry_msgs/msg/Twist"),
        Topic("joint_states", "sensor_msgs/msg/JointState"),
        Topic("sim/ground_truth/robot", "nav_msgs/msg/Odometry"),
        Topic("sim/ground_truth/cube", "geometry_msgs/msg/PoseStamped"),
        Topic("sim/ground_truth/obstacle", "geometry_msgs/msg/PoseStamped"),
        Topic("sim/ground_truth/obstacle_contact", "std_msgs/msg/Bool"),
    ),
    services=("expert/reset",),
)
SIDES = {"left": 1, "right": -1}


class ExpertNode(Node):
    def __init__(self) -> None:
        super().__init__("expert")
        self.p = declare_params(self, INTERFACE)
        if self.p.side not in ("random", *SIDES):
            raise ValueError(f"side must be random, left or right, got {self.p.side!r}")
        if self.p.takeover not in TAKEOVER:
            raise ValueError(f"takeover must be one of {', '.join(TAKEOVER)}, got {self.p.takeover!r}")
        p = self.p
        self.gate = Gate(
            GateRule(
                clearance=p.gate_clearance,
                horizon_s=p.gate_horizon_s,
                stray=p.gate_stray,
                stall_s=p.gate_stall_s,
                min_control_s=p.gate_min_control_s,
                lift_stall_s=p.gate_lift_stall_s,
                patience_s=p.gate_patience_s,
            )
        )
        self.contact = False
        self.policy_arm: tuple[float, JointState] | None = None  # (received at, message)
        self.policy_twist: tuple[float, Twist] | None = None
        if p.takeover != "always":
            self.gate_pub = self.create_publisher(Bool, "expert/gate", 10)
            self.reason_pub = self.create_publisher(String, "expert/takeover_reason", 10)
            self.create_subscription(
                Bool, "sim/ground_truth/obstacle_contact", lambda m: setattr(self, "contact", m.data), 10
            )
            self.create_subscription(
                JointState, "policy/arm/command", lambda m: setattr(self, "policy_arm", (self._now(), m)), 10
            )
            self.create_subscription(
                Twist, "policy/cmd_vel", lambda m: setattr(self, "policy_twist", (self._now(), m)), 10
            )
        self.rng = np.random.default_rng(self.p.seed)
        self.robot = self.cube = self.obstacle = None
        self.out = CommandPublisher(self)
        self.create_subscription(Odometry, "sim/ground_truth/robot", lambda m: setattr(self, "robot", m), 10)
        self.create_subscription(PoseStamped, "sim/ground_truth/cube", lambda m: setattr(self, "cube", m), 10)
        self.create_subscription(
            PoseStamped, "sim/ground_truth/obstacle", lambda m: setattr(self, "obstacle", m), 10
        )
        self.create_subscription(JointState, "joint_states", self._on_joint_states, 10)
        self.create_service(Trigger, "expert/reset", self._on_reset)
        self.expert = self._new_expert()

    def _new_expert(self) -> Expert:
        side = SIDES.get(self.p.side) or int(self.rng.choice((-1, 1)))
        self.get_logger().info(f"new episode: detour to the {'left' if side > 0 else 'right'}")
        return Expert(side)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_reset(self, _request, response):
        self.expert = self._new_expert()
        self.gate.reset()
        self.policy_arm = self.policy_twist = None
        response.success, response.message = True, f"side {self.expert.side:+d}"
        return response

    def world_state(self, joints: JointState) -> WorldState | None:
        if self.robot is None or self.cube is None or self.obstacle is None:
            return None
        position, velocity = dict(zip(joints.name, joints.position)), dict(zip(joints.name, joints.velocity))
        return WorldState(
            *ground_truth_poses(self.robot, self.cube, self.obstacle),
            tuple(position[j] for j in c.ARM_JOINTS),
            tuple(velocity.get(j, 0.0) for j in c.ARM_JOINTS),
        )

    def _on_joint_states(self, msg: JointState) -> None:
        state = self.world_state(msg)
        if state is None:
            self.get_logger().info(
                "waiting for ground truth on /sim/ground_truth/*", throttle_duration_sec=5.0
            )
            return
        policy_twist = self._fresh_policy_twist()
        if policy_twist is not None:  # labelling or gating a policy: take the detour side it heads for
            self.expert.side = side_agreeing_with(state, policy_twist, self.expert.side)
        action = self.expert.act(state)
        self.out.arm(dict(zip(c.ARM_JOINTS, action.arm)), stamp=msg.header.stamp)
        self.out.twist(*action.twist)
        if self.p.takeover == "always":
            self.out.engaged(True)
            return
        verdict = self._judge(state, action, policy_twist, stamp_seconds(msg.header.stamp))
        self.gate_pub.publish(Bool(data=verdict))
        self.out.engaged(self.p.takeover == "gate" and verdict)

    def _fresh(self, received) -> bool:
        return received is not None and self._now() - received[0] <= self.p.policy_timeout

    def _fresh_policy_twist(self) -> tuple[float, float, float] | None:
        if self.p.takeover == "always" or not self._fresh(self.policy_twist):
            return None
        m = self.policy_twist[1]
        return m.linear.x, m.linear.y, m.angular.z

    def _judge(self, state: WorldState, action, policy_twist, now: float) -> bool:
        """The gate's verdict on the state the policy drives into; a policy without fresh commands
        (no chunk yet, stopped) is not judged. A take-over's reason goes out once, as it happens."""
        fresh = policy_twist is not None and self._fresh(self.policy_arm)
        seen = gate_observation(
            state, policy_twist or (0.0, 0.0, 0.0), self.expert.side, self.contact, self.gate.rule
        )
        was = self.gate.engaged
        verdict = self.gate.update(now, seen, judge=fresh)
        if verdict and not was:
            self.reason_pub.publish(String(data=self.gate.reason))
            self.get_logger().info(f"take-over: {self.gate.reason}")
        return verdict


def main(args=None) -> int:
    return run_node(ExpertNode, "expert", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
