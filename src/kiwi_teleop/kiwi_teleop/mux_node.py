"""`mux`: forwards the human's or the policy's commands to the driver, and says which.

In: `/teleop/{arm/command,cmd_vel,engaged}`, `/policy/{arm/command,cmd_vel}`. Out: `/arm/command`,
`/cmd_vel` (Twist, or TwistStamped with `cmd_vel_stamped`), `/intervention` (Bool, on every change
and at `intervention_rate_hz`). The rules are in `arbitration.py`.
"""

from __future__ import annotations

from geometry_msgs.msg import Twist, TwistStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node

from .arbitration import Arbiter
from .sources import TOPICS as TELEOP_TOPICS

POLICY_TOPICS = (
    Topic("policy/arm/command", "sensor_msgs/msg/JointState"),
    Topic("policy/cmd_vel", "geometry_msgs/msg/Twist"),
)
INTERFACE = NodeInterface(
    params=(
        Param(
            "mode",
            "shared",
            "'teleop': always forward the human; 'shared': policy unless a human is engaged.",
        ),
        Param("human_timeout", 0.5, "Seconds an engaged message from a human source lasts."),
        Param("handback_s", 0.5, "Seconds to blend from the human's last command to the policy's."),
        Param("cmd_vel_stamped", False, "Publish /cmd_vel as TwistStamped."),
        Param("intervention_rate_hz", 10.0, "Rate of /intervention when it does not change."),
    ),
    publishes=(
        Topic("arm/command", "sensor_msgs/msg/JointState"),
        Topic("cmd_vel", "geometry_msgs/msg/Twist"),
        Topic("intervention", "std_msgs/msg/Bool"),
    ),
    subscribes=TELEOP_TOPICS + POLICY_TOPICS,
)
TWIST_KEYS = ("vx", "vy", "wz")


def twist_dict(msg: Twist) -> dict[str, float]:
    return dict(zip(TWIST_KEYS, (msg.linear.x, msg.linear.y, msg.angular.z)))


class MuxNode(Node):
    def __init__(self) -> None:
        super().__init__("mux")
        p = self.p = declare_params(self, INTERFACE)
        self.arbiter = Arbiter(p.mode, p.human_timeout, p.handback_s)
        self.arm_pub = self.create_publisher(JointState, "arm/command", 10)
        self.twist_pub = self.create_publisher(TwistStamped if p.cmd_vel_stamped else Twist, "cmd_vel", 10)
        self.intervention_pub = self.create_publisher(Bool, "intervention", 10)
        self.last_intervention: bool | None = None
        for source in ("teleop", "policy"):
            self.create_subscription(
                JointState, f"{source}/arm/command", lambda m, s=source: self._on_arm(s, m), 10
            )
            self.create_subscription(Twist, f"{source}/cmd_vel", lambda m, s=source: self._on_twist(s, m), 10)
        self.create_subscription(Bool, "teleop/engaged", self._on_engaged, 10)
        self.create_timer(1.0 / p.intervention_rate_hz, lambda: self._publish_intervention(force=True))

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _route(self, source: str, kind: str, command: dict[str, float]):
        route = self.arbiter.human if source == "teleop" else self.arbiter.policy
        out = route(kind, command, self._now())
        self._publish_intervention()
        return out

    def _on_engaged(self, msg: Bool) -> None:
        self.arbiter.engaged(msg.data, self._now())
        self._publish_intervention()

    def _on_arm(self, source: str, msg: JointState) -> None:
        out = self._route(source, "arm", dict(zip(msg.name, msg.position)))
        if out is not None:
            fwd = JointState(name=list(out), position=[float(v) for v in out.values()])
            fwd.header = msg.header  # keep the source's stamp: it names the observation answered
            self.arm_pub.publish(fwd)

    def _on_twist(self, source: str, msg: Twist) -> None:
        out = self._route(source, "twist", twist_dict(msg))
        if out is None:
            return
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = out["vx"], out["vy"], out["wz"]
        if self.p.cmd_vel_stamped:
            stamped = TwistStamped(twist=twist)
            stamped.header.stamp = self.get_clock().now().to_msg()
            self.twist_pub.publish(stamped)
        else:
            self.twist_pub.publish(twist)

    def _publish_intervention(self, force: bool = False) -> None:
        value = self.arbiter.intervention(self._now())
        if force or value != self.last_intervention:
            self.last_intervention = value
            self.intervention_pub.publish(Bool(data=value))


def main(args=None) -> int:
    return run_node(MuxNode, "mux", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
