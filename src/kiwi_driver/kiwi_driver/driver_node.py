"""`driver`: the node that owns the robot, whatever the backend.

Each tick (`rate_hz`, on a timer): read the joints, publish `/joint_states`, `/odom` (+ TF
`odom`->`base_link` when tf2_msgs is importable), then send the latest checked commands. Commands
arrive on `/arm/command` (named JointState positions) and `/cmd_vel` (Twist, or TwistStamped with
`cmd_vel_stamped`). Safety: bad commands are rejected with a throttled error and a diagnostics
entry; arm targets are clamped to joint limits and to `max_step` per tick; no command for
`cmd_timeout` stops the base and holds the arm where it is.

Where time comes from and what else is published belongs to the robot's world (`world.py`): the
real robot's is the node clock; the sim's adds `/clock`, the cameras, ground truth and `/sim/reset`.
The driver's timer runs on the steady clock: in the sim it is the source of `/clock` and must not
wait for it.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TransformStamped, Twist, TwistStamped
from nav_msgs.msg import Odometry
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from sensor_msgs.msg import JointState

from kiwi_common.diagnostics import Diagnostic, diagnostic_array
from kiwi_common.node_interface import NodeInterface, Param, Topic, camera_topics, declare_params, run_node
from kiwi_common.stamps import stamp_seconds
from kiwi_common.timing import TickTimer
from kiwi_description import constants as c
from kiwi_description import kinematics as kin

from .backend import Backend
from .commands import CommandError, Watchdog, arm_targets, check_stamp, parse_arm_command, parse_twist
from .odometry import WheelOdometry
from .world import RealWorld, SimWorld, yaw_quaternion

try:  # tf2_msgs is not on PyPI; full ROS installs have it
    from tf2_msgs.msg import TFMessage
except ImportError:
    TFMessage = None

CAMERA_TOPICS = tuple(topic for cam in c.CAMERAS for topic in camera_topics(f"camera/{cam}/"))

INTERFACE = NodeInterface(
    params=(
        Param("backend", "sim", "Robot backend: 'sim' (MuJoCo) or 'feetech' (the real bus)."),
        Param("rate_hz", c.CONTROL_RATE_HZ, "Control and publishing rate (Hz)."),
        Param(
            "cmd_timeout",
            c.CMD_TIMEOUT_S,
            "Seconds without a command before the base stops and the arm holds.",
        ),
        Param(
            "max_step",
            c.ARM_MAX_VELOCITY / c.CONTROL_RATE_HZ,
            "Largest change of an arm target from the present position per tick (rad); 0 disables.",
        ),
        Param("max_command_age", 0.5, "Reject stamped commands older than this (s); 0 disables."),
        Param("cmd_vel_stamped", False, "Subscribe /cmd_vel as TwistStamped instead of Twist."),
        Param("odom_frame", "odom", "Frame of /odom."),
        Param("base_frame", "base_link", "Child frame of /odom."),
        Param(
            "frame_prefix",
            "",
            "Prefix of every frame id published (e.g. 'robot1/' in namespace robot1), as "
            "robot_state_publisher's frame_prefix: several robots share one /tf tree.",
        ),
        Param("publish_tf", True, "Publish odom->base_link on /tf (needs tf2_msgs)."),
        Param("port", "/dev/ttyACM0", "Feetech: serial port of the LeKiwi bus."),
        Param("robot_id", "lekiwi", "Feetech: LeRobot robot id, which names the calibration file."),
        Param("calibration_dir", "", "Feetech: folder of <robot_id>.json; empty: LeRobot's default."),
        Param("torque_off_on_shutdown", True, "Turn servo torque off when the node stops."),
        Param("seed", 0, "Sim: seed of the scene layout; read again on every /sim/reset."),
        Param("obstacle", False, "Sim: obstacle between robot and cube; read again on every /sim/reset."),
        Param("sim_speed", 1.0, "Sim: speed as a multiple of real time; 0 runs as fast as possible."),
        Param("cameras", True, "Sim: render and publish the front and wrist cameras."),
        Param("camera_rate_hz", 30.0, "Sim: camera frame rate (Hz), at most rate_hz."),
        Param(
            "image_size",
            "",
            "Sim: the policy's image size HxW (e.g. 96x128): each camera renders at the smallest "
            "size of its own aspect covering it; empty: the real cameras' sizes (640x480, 480x640).",
        ),
        Param("jpeg_quality", 90, "JPEG quality of the compressed images."),
    ),
    publishes=(
        Topic("joint_states", "sensor_msgs/msg/JointState"),
        Topic("odom", "nav_msgs/msg/Odometry"),
        Topic("/tf", "tf2_msgs/msg/TFMessage"),
        Topic("diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
        Topic("clock", "rosgraph_msgs/msg/Clock"),
        Topic("sim/ground_truth/robot", "nav_msgs/msg/Odometry"),
        Topic("sim/ground_truth/cube", "geometry_msgs/msg/PoseStamped"),
        Topic("sim/ground_truth/obstacle", "geometry_msgs/msg/PoseStamped"),
        Topic("sim/ground_truth/obstacle_contact", "std_msgs/msg/Bool"),
        Topic("sim/ground_truth/cube_between_jaws", "std_msgs/msg/Bool"),
        *CAMERA_TOPICS,
    ),
    subscribes=(
        Topic("arm/command", "sensor_msgs/msg/JointState"),
        Topic("cmd_vel", "geometry_msgs/msg/Twist"),
    ),
    services=("sim/reset",),
)

# Wheel odometry of an omni base drifts: these variances (m^2, rad^2) say so to Nav2 and EKFs.
POSE_COVARIANCE_DIAGONAL = (1e-3, 1e-3, 1e6, 1e6, 1e6, 5e-3)
TWIST_COVARIANCE_DIAGONAL = (1e-4, 1e-4, 1e6, 1e6, 1e6, 1e-3)


def _diagonal(values) -> list[float]:
    cov = [0.0] * 36
    for i, v in enumerate(values):
        cov[i * 7] = v
    return cov


class DriverNode(Node):
    def __init__(self) -> None:
        super().__init__("driver")
        p = self.p = declare_params(self, INTERFACE)
        if p.rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {p.rate_hz}")
        self.period = 1.0 / p.rate_hz
        self.backend: Backend = self._make_backend(p.backend)

        # Commands (written by subscriptions, used by the tick).
        self.arm_request: dict[str, float] = {}
        self.arm_target: np.ndarray | None = None
        self.twist = (0.0, 0.0, 0.0)
        self.arm_watchdog = Watchdog(p.cmd_timeout)
        self.base_watchdog = Watchdog(p.cmd_timeout)
        self.rejected = 0
        self.last_rejection = ""
        self.odom = WheelOdometry()
        self.tick_timer = TickTimer(self.period)

        self.joint_pub = self.create_publisher(JointState, "joint_states", 10)
        self.odom_pub = self.create_publisher(Odometry, "odom", 10)
        self.tf_pub = self.create_publisher(TFMessage, "/tf", 10) if (TFMessage and p.publish_tf) else None
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        self.create_subscription(JointState, "arm/command", self._on_arm_command, 10)
        twist_type = TwistStamped if p.cmd_vel_stamped else Twist
        self.create_subscription(twist_type, "cmd_vel", self._on_cmd_vel, 10)
        self.world = (
            SimWorld(self, self.backend, p, on_reset=self._forget_commands)
            if p.backend == "sim"
            else RealWorld(self)
        )
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        timer_period = self.period / self.world.speed if self.world.speed > 0 else 1e-4
        self.timer = self.create_timer(timer_period, self._tick, clock=steady)
        self.diag_timer = self.create_timer(1.0, self._publish_diagnostics, clock=steady)
        self.get_logger().info(f"{p.backend} driver at {p.rate_hz:g} Hz{self.world.description}")

    # --- set-up ----------------------------------------------------------------------------------

    def _make_backend(self, name: str) -> Backend:
        if name == "sim":
            from .sim_backend import SimBackend  # heavy import (mujoco) only where needed

            return SimBackend(control_dt=self.period)
        if name == "feetech":
            from .feetech_backend import FeetechBackend

            return FeetechBackend(self.p.port, self.p.robot_id, self.p.calibration_dir)
        raise ValueError(f"unknown backend {name!r}; expected 'sim' or 'feetech'")

    # --- commands --------------------------------------------------------------------------------

    def _reject(self, topic: str, error: Exception) -> None:
        self.rejected += 1
        self.last_rejection = f"{topic}: {error}"
        self.get_logger().error(f"rejected {self.last_rejection}", throttle_duration_sec=1.0)

    def _on_arm_command(self, msg: JointState) -> None:
        try:
            check_stamp(stamp_seconds(msg.header.stamp), self.world.now(), self.p.max_command_age)
            self.arm_request = parse_arm_command(msg.name, msg.position)
        except CommandError as exc:
            self._reject("arm/command", exc)
            return
        self.arm_watchdog.feed(self.world.command_time())

    def _on_cmd_vel(self, msg) -> None:
        twist = msg
        try:
            if isinstance(msg, TwistStamped):
                check_stamp(stamp_seconds(msg.header.stamp), self.world.now(), self.p.max_command_age)
                twist = msg.twist
            self.twist = parse_twist(twist.linear.x, twist.linear.y, twist.angular.z)
        except CommandError as exc:
            self._reject("cmd_vel", exc)
            return
        self.base_watchdog.feed(self.world.command_time())

    def _forget_commands(self) -> None:
        """After a sim reset: no old command or target carries over into the new layout."""
        self.odom.reset()
        self.arm_target = None
        self.arm_request = {}
        self.twist = (0.0, 0.0, 0.0)
        self.arm_watchdog.last = self.base_watchdog.last = None

    # --- the tick --------------------------------------------------------------------------------

    def _tick(self) -> None:
        now_wall = time.monotonic()
        elapsed = self.tick_timer.tick(now_wall)
        stamp = self.world.stamp()
        try:
            state = self.backend.read()
        except RuntimeError as exc:  # the bus failed this cycle: stop the wheels, publish nothing stale
            self.get_logger().error(f"cannot read the robot: {exc}", throttle_duration_sec=1.0)
            try:
                self.backend.stop_base()
            except RuntimeError:
                pass
            return
        self.odom.update(state.wheel_velocity, self.world.step(self.period, elapsed))
        # The sim's inputs (ground truth, images), then the state, which the expert answers, then
        # /clock, which ticks the nodes on sim time: each finds this tick's inputs there.
        self.world.publish(stamp)
        self._publish_state(state, stamp)
        self.world.publish_clock(stamp)
        try:
            now = self.world.command_time()
            self.backend.write(self._next_arm_target(state.arm_position, now), self._next_wheel_speeds(now))
        except RuntimeError as exc:
            self.get_logger().error(f"cannot command the robot: {exc}", throttle_duration_sec=1.0)

    def _next_arm_target(self, present: np.ndarray, now: float) -> np.ndarray:
        if self.arm_target is None:
            self.arm_target = present.copy()
        if self.arm_watchdog.expired(now):
            if self.arm_request:  # commands stopped: hold where the arm is now, once
                self.arm_target = present.copy()
                self.arm_request = {}
            return self.arm_target
        self.arm_target = arm_targets(self.arm_request, self.arm_target, present, self.p.max_step)
        return self.arm_target

    def _next_wheel_speeds(self, now: float) -> np.ndarray:
        if self.base_watchdog.expired(now):
            return np.zeros(3)
        return kin.clamp_wheel_speeds(kin.body_to_wheel_speeds(*self.twist))

    # --- publishing ------------------------------------------------------------------------------

    def _publish_state(self, state, stamp: Time) -> None:
        js = JointState(
            name=list(c.ALL_JOINTS),
            position=[float(x) for x in (*state.arm_position, *state.wheel_position)],
            velocity=[float(x) for x in (*state.arm_velocity, *state.wheel_velocity)],
        )
        js.header.stamp = stamp
        self.joint_pub.publish(js)

        o = self.odom
        odom = Odometry(child_frame_id=self.frame(self.p.base_frame))
        odom.header.stamp = stamp
        odom.header.frame_id = self.frame(self.p.odom_frame)
        odom.pose.pose.position.x, odom.pose.pose.position.y = o.x, o.y
        q = odom.pose.pose.orientation
        q.x, q.y, q.z, q.w = yaw_quaternion(o.yaw)
        odom.twist.twist.linear.x, odom.twist.twist.linear.y, odom.twist.twist.angular.z = o.twist
        odom.pose.covariance = _diagonal(POSE_COVARIANCE_DIAGONAL)
        odom.twist.covariance = _diagonal(TWIST_COVARIANCE_DIAGONAL)
        self.odom_pub.publish(odom)
        if self.tf_pub is not None:
            tf = TransformStamped(child_frame_id=self.frame(self.p.base_frame))
            tf.header = odom.header
            tf.transform.translation.x, tf.transform.translation.y = o.x, o.y
            tf.transform.rotation = odom.pose.pose.orientation
            self.tf_pub.publish(TFMessage(transforms=[tf]))

    def frame(self, name: str) -> str:
        return self.p.frame_prefix + name

    def _publish_diagnostics(self) -> None:
        now = self.world.command_time()
        statuses = list(self.backend.diagnostics())
        statuses.append(
            Diagnostic(
                1 if self.rejected else 0,
                "commands",
                f"rejected {self.rejected}"
                + (f"; last: {self.last_rejection}" if self.last_rejection else ""),
                {"rejected": str(self.rejected)},
            )
        )
        idle = [n for n, w in (("base", self.base_watchdog), ("arm", self.arm_watchdog)) if w.expired(now)]
        statuses.append(
            Diagnostic(
                0,
                "watchdog",
                f"no recent command for: {', '.join(idle)}" if idle else "commanded",
                {"cmd_timeout": f"{self.p.cmd_timeout:g}"},
            )
        )
        if self.tick_timer.periods:
            late, window = self.tick_timer.late_in_window(), len(self.tick_timer.periods)
            statuses.append(
                Diagnostic(
                    1 if late else 0,
                    "timing",
                    f"{late} late ticks in the last {window}",
                    {
                        "period_p50_ms": f"{self.tick_timer.percentile_ms(50):.2f}",
                        "period_p99_ms": f"{self.tick_timer.percentile_ms(99):.2f}",
                        "target_period_ms": f"{self.period * 1000:.2f}",
                    },
                )
            )
        self.diag_pub.publish(diagnostic_array("driver", statuses, self.get_clock().now().to_msg()))

    def shutdown(self) -> None:
        """Stop the base and release the backend (torque off unless told otherwise)."""
        try:
            self.backend.close(self.p.torque_off_on_shutdown)
        except RuntimeError as exc:
            self.get_logger().error(f"could not stop the robot cleanly: {exc}")


def main(args=None) -> int:
    return run_node(DriverNode, "driver", args)


if __name__ == "__main__":
    sys.exit(main())
