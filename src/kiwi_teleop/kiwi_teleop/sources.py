"""What every teleop source publishes: arm targets, a base twist, and whether a human is engaged.

Topics (relative, so a graph can namespace or remap a source): `arm/command` (JointState, named
positions in rad), `cmd_vel` (Twist, body frame), `engaged` (Bool: this source wants control,
e.g. deadman held, leader arm moving, take-over key). The graphs remap them to `/teleop/...`.
"""

from __future__ import annotations

from geometry_msgs.msg import Twist
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from kiwi_common.node_interface import Topic

TOPICS = (
    Topic("teleop/arm/command", "sensor_msgs/msg/JointState"),
    Topic("teleop/cmd_vel", "geometry_msgs/msg/Twist"),
    Topic("teleop/engaged", "std_msgs/msg/Bool"),
)


class CommandPublisher:
    def __init__(self, node):
        self.node = node
        self.arm_pub = node.create_publisher(JointState, "teleop/arm/command", 10)
        self.twist_pub = node.create_publisher(Twist, "teleop/cmd_vel", 10)
        self.engaged_pub = node.create_publisher(Bool, "teleop/engaged", 10)

    def arm(self, targets: dict[str, float], stamp=None) -> None:
        msg = JointState(name=list(targets), position=[float(v) for v in targets.values()])
        msg.header.stamp = stamp if stamp is not None else self.node.get_clock().now().to_msg()
        self.arm_pub.publish(msg)

    def twist(self, vx: float, vy: float, wz: float) -> None:
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.angular.z = float(vx), float(vy), float(wz)
        self.twist_pub.publish(msg)

    def engaged(self, value: bool) -> None:
        self.engaged_pub.publish(Bool(data=bool(value)))


class RecorderClient:
    """Calls the recorder's episode services (start, save, discard) without waiting on them."""

    def __init__(self, node):
        self.node = node
        self.clients = {
            name: node.create_client(Trigger, f"recorder/{name}") for name in ("start", "save", "discard")
        }

    def call(self, name: str) -> None:
        client, log = self.clients[name], self.node.get_logger()
        if not client.service_is_ready():
            log.warning(f"no recorder: /recorder/{name} is not available")
            return
        future = client.call_async(Trigger.Request())
        future.add_done_callback(lambda f: self._report(name, f.result()))

    def _report(self, name: str, result) -> None:
        # Two call sites: rclpy refuses one that logs at more than one severity.
        if result.success:
            self.node.get_logger().info(f"{name}: {result.message}")
        else:
            self.node.get_logger().warning(f"{name} refused: {result.message}")
