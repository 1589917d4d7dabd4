"""The world the driver's robot lives in: where its time comes from and what else it publishes.

`RealWorld`: the node's clock, time steps as measured, nothing more. `SimWorld`: the sim's own
time (each tick advances it by exactly one period, published on `clock`, so nodes on sim time stay
in lockstep however fast the sim runs), the ground truth on `sim/ground_truth/*`, the two cameras
(rendered only when someone subscribes, at `camera_rate_hz`), and `sim/reset`, which answers with
the new layout as JSON. The driver calls the same methods on either, so it has no sim branches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rosgraph_msgs.msg import Clock as ClockMsg
from std_msgs.msg import Bool
from std_srvs.srv import Trigger

from kiwi_common.images import CameraPublisher, parse_image_size, render_size
from kiwi_common.stamps import time_msg
from kiwi_description import constants as c


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a rotation about z."""
    return 0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2))


def pose_msg(frame: str, stamp: Time, pos, quat_wxyz) -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = frame
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = (float(v) for v in pos)
    o = msg.pose.orientation
    o.w, o.x, o.y, o.z = (float(v) for v in quat_wxyz)
    return msg


def layout_json(layout) -> str:
    """/sim/reset's answer: the layout as data (seed, cube and obstacle x/y in m, the cube's yaw in
    rad; obstacle null if none)."""
    as_list = lambda xy: None if xy is None else [round(float(v), 4) for v in xy]  # noqa: E731
    return json.dumps(
        {
            "seed": layout.seed,
            "cube": as_list(layout.cube_xy),
            "cube_yaw": round(layout.cube_yaw, 4),
            "obstacle": as_list(layout.obstacle_xy),
        }
    )


class RealWorld:
    """A real robot: the node's clock; odometry integrates over the time actually elapsed."""

    speed = 1.0
    description = ""

    def __init__(self, node) -> None:
        self.node = node

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def command_time(self) -> float:
        """The watchdog's clock: steady wall time, which runs whatever the node clock does (a
        robot driver given use_sim_time without /clock would otherwise never stop)."""
        return time.monotonic()

    def stamp(self) -> Time:
        return self.node.get_clock().now().to_msg()

    def step(self, period: float, elapsed: float | None) -> float:
        return period if elapsed is None else elapsed

    def publish(self, stamp: Time) -> None:
        pass

    def publish_clock(self, stamp: Time) -> None:
        pass


class SimWorld:
    """The MuJoCo sim's extras: its clock, ground truth, cameras and reset (see the module doc)."""

    def __init__(self, node, sim, p, on_reset: Callable[[], None]) -> None:
        self.node, self.sim, self.p, self.on_reset = node, sim, p, on_reset
        self.speed = p.sim_speed
        self.description = f", seed {p.seed}, obstacle {p.obstacle}"
        sim.reset(p.seed, p.obstacle)
        self.clock_pub = node.create_publisher(ClockMsg, "clock", 10)
        self.truth_robot_pub = node.create_publisher(Odometry, "sim/ground_truth/robot", 10)
        self.truth_cube_pub = node.create_publisher(PoseStamped, "sim/ground_truth/cube", 10)
        self.truth_obstacle_pub = node.create_publisher(PoseStamped, "sim/ground_truth/obstacle", 10)
        self.truth_contact_pub = node.create_publisher(Bool, "sim/ground_truth/obstacle_contact", 10)
        self.truth_jaws_pub = node.create_publisher(Bool, "sim/ground_truth/cube_between_jaws", 10)
        node.create_service(Trigger, "sim/reset", self._on_reset)
        self.cameras: dict[str, tuple[tuple[int, int], CameraPublisher]] = {}
        self.ticks = 0
        if p.cameras:
            if not 0 < p.camera_rate_hz <= p.rate_hz:
                raise ValueError(f"camera_rate_hz must be in (0, rate_hz], got {p.camera_rate_hz}")
            self.camera_every = max(1, round(p.rate_hz / p.camera_rate_hz))
            shape = parse_image_size(p.image_size) if p.image_size else None
            for cam, spec in c.CAMERAS.items():
                size = render_size((spec.width, spec.height), shape)
                frame = f"{p.frame_prefix}{cam}_camera_optical_frame"
                self.cameras[cam] = (
                    size,
                    CameraPublisher(node, f"camera/{cam}/", frame, spec.fovy_deg, p.jpeg_quality),
                )

    def now(self) -> float:
        return self.sim.time

    def command_time(self) -> float:
        """The watchdog's clock: sim time, as the bags' stamps and the converter count it, and as
        the command sources (on sim time, one command per tick) publish at any sim speed."""
        return self.sim.time

    def stamp(self) -> Time:
        return time_msg(self.sim.time)

    def step(self, period: float, elapsed: float | None) -> float:
        return period  # the sim advances exactly one period per tick

    def publish(self, stamp: Time) -> None:
        """The tick's ground truth and images, before the driver's state: the expert answers
        each state with the newest ground truth."""
        self._publish_ground_truth(stamp)
        if self.cameras and self.ticks % self.camera_every == 0:
            for cam, ((width, height), publisher) in self.cameras.items():
                if publisher.wanted():  # rendering is most of the sim's cost: only for a reader
                    publisher.publish(self.sim.render(cam, width, height), stamp)
        self.ticks += 1

    def publish_clock(self, stamp: Time) -> None:
        """The tick's time, after everything else of the tick: a node on sim time ticks when it
        arrives and must find this tick's inputs, not the last tick's (a policy acting on
        one-tick-old states lost 10 points of success, measured in the env)."""
        self.clock_pub.publish(ClockMsg(clock=stamp))

    def _publish_ground_truth(self, stamp: Time) -> None:
        sim, world = self.sim, f"{self.p.frame_prefix}world"
        x, y, yaw = sim.base_pose()
        robot = Odometry(child_frame_id=f"{self.p.frame_prefix}{self.p.base_frame}")
        robot.header.stamp = stamp
        robot.header.frame_id = world
        robot.pose.pose.position.x, robot.pose.pose.position.y = x, y
        q = robot.pose.pose.orientation
        q.x, q.y, q.z, q.w = yaw_quaternion(yaw)
        robot.twist.twist.linear.x, robot.twist.twist.linear.y, robot.twist.twist.angular.z = sim.base_twist()
        self.truth_robot_pub.publish(robot)
        pos, quat = sim.cube_pose()
        self.truth_cube_pub.publish(pose_msg(world, stamp, pos, quat))
        # The obstacle is parked under the floor (z < 0) when the layout has none.
        self.truth_obstacle_pub.publish(pose_msg(world, stamp, sim.obstacle_position(), (1.0, 0.0, 0.0, 0.0)))
        self.truth_contact_pub.publish(Bool(data=sim.obstacle_contact()))
        self.truth_jaws_pub.publish(Bool(data=sim.cube_between_jaws()))

    def _on_reset(self, _request, response):
        seed = self.node.get_parameter("seed").value
        obstacle = self.node.get_parameter("obstacle").value
        layout = self.sim.reset(seed, obstacle)
        self.on_reset()
        response.success = True
        response.message = layout_json(layout)
        self.node.get_logger().info(f"reset: {response.message}")
        return response
