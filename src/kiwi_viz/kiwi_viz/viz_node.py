"""`viz`: shows the robot in Rerun (cameras, a top-down map, joints, base, take-overs, diagnostics).

It only subscribes: the driver and the policy do not wait for it, and images reach the viewer
at `image_hz` (compressed, as published). `viewer`: web (serves Rerun's web viewer on `web_port`
and its data on `grpc_port`; open the printed URL, through an SSH tunnel of both ports from
another machine), native (spawns the viewer; needs a display), a rerun+http:// URL of a running
viewer, or a path ending in .rrd.
"""

from __future__ import annotations

import sys

from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_recorder.bag import message_class

from .feed import CAMERA_TOPICS, TOPICS, MessageFeed
from .scene import Scene
from .viewer import open_stream

INTERFACE = NodeInterface(
    params=(
        Param(
            "viewer", "web", "web, native, a rerun+http:// URL of a running viewer, or a path ending in .rrd."
        ),
        Param("web_port", 9090, "viewer:=web: the web viewer's HTTP port."),
        Param("grpc_port", 9876, "viewer:=web: the port the viewer streams the data from."),
        Param("memory_limit", "512MiB", "viewer:=web: data kept for viewers that connect later."),
        Param("image_hz", 10.0, "Images per second per camera sent to the viewer (0: all)."),
        Param("cmd_vel_stamped", False, "/cmd_vel is TwistStamped (the nav2 graph)."),
    ),
    # Every topic is optional: the viewer shows what the graph has (no ground truth on a robot).
    subscribes=tuple(Topic(name, kind, optional=True) for name, kind in TOPICS.items()),
)
SKIP_REPORT_S = 10.0


class VizNode(Node):
    def __init__(self) -> None:
        super().__init__("viz")
        p = declare_params(self, INTERFACE)
        self.recording, where = open_stream(p.viewer, p.web_port, p.grpc_port, p.memory_limit)
        self.feed = MessageFeed(Scene(self.recording), p.image_hz)
        topics = {**TOPICS, **({"cmd_vel": "geometry_msgs/msg/TwistStamped"} if p.cmd_vel_stamped else {})}
        for topic, kind in topics.items():
            qos = qos_profile_sensor_data if topic in CAMERA_TOPICS else 10
            self.create_subscription(
                message_class(kind), topic, lambda msg, t=topic: self._on_message(t, msg), qos
            )
        self.reported = 0
        self.create_timer(SKIP_REPORT_S, self._report_skipped)
        self.get_logger().info(where)

    def _on_message(self, topic: str, msg) -> None:
        self.feed.handle(topic, msg, self.get_clock().now().nanoseconds * 1e-9)

    def _report_skipped(self) -> None:
        total = sum(self.feed.skipped.values())
        if total > self.reported:
            self.reported = total
            counts = ", ".join(f"{t}: {n}" for t, n in sorted(self.feed.skipped.items()))
            self.get_logger().warning(f"messages that could not be shown: {counts}")

    def shutdown(self) -> None:
        self.recording.disconnect()  # flushes; an .rrd file gets its footer


def main(args=None) -> int:
    return run_node(VizNode, "viz", args)


if __name__ == "__main__":
    sys.exit(main())
