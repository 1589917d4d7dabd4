"""`driver`: the node that owns the robot.

Publishes `/joint_states` (arm positions in rad, wheel positions and speeds) from a timer at
`rate_hz`. With the sim backend it also publishes `/clock`: each tick advances the simulation by
exactly one period, so a graph on `use_sim_time` runs in lockstep with the sim even when the sim
runs slower than real time. The driver's own timer runs on the steady clock (it is the clock's
source and must not wait for it).
"""

from __future__ import annotations

import sys

import numpy as np
import rclpy
from builtin_interfaces.msg import Time
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rosgraph_msgs.msg import Clock as ClockMsg
from sensor_msgs.msg import JointState

from kiwi_description import constants as c
from kiwi_description.node_interface import NodeInterface, Param, Topic, declare_params

INTERFACE = NodeInterface(
    params=(
        Param("backend", "sim", "Robot backend: 'sim' (MuJoCo)."),
        Param("rate_hz", c.CONTROL_RATE_HZ, "Control and publishing rate (Hz)."),
        Param("seed", 0, "Sim: seed of the first scene layout."),
        Param("obstacle", False, "Sim: place an obstacle between robot and cube."),
        Param("sim_speed", 1.0, "Sim: target speed as a multiple of real time; 0 runs as fast as possible."),
    ),
    publishes=(
        Topic("/joint_states", "sensor_msgs/msg/JointState"),
        Topic("/clock", "rosgraph_msgs/msg/Clock"),
    ),
)


def time_msg(seconds: float) -> Time:
    sec, nanosec = divmod(round(seconds * 1e9), 1_000_000_000)
    return Time(sec=int(sec), nanosec=int(nanosec))


class DriverNode(Node):
    def __init__(self) -> None:
        super().__init__("driver")
        self.p = declare_params(self, INTERFACE)
        if self.p.backend != "sim":
            raise ValueError(f"unknown backend {self.p.backend!r}; this build knows 'sim'")
        if self.p.rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {self.p.rate_hz}")
        from .sim_backend import SimBackend  # heavy import (mujoco) only where needed

        self.sim = SimBackend(control_dt=1.0 / self.p.rate_hz)
        self.sim.reset(self.p.seed, self.p.obstacle)
        self.joint_pub = self.create_publisher(JointState, "/joint_states", 10)
        self.clock_pub = self.create_publisher(ClockMsg, "/clock", 10)
        period = 1.0 / (self.p.rate_hz * self.p.sim_speed) if self.p.sim_speed > 0 else 1e-4
        self.timer = self.create_timer(period, self._tick, clock=Clock(clock_type=ClockType.STEADY_TIME))
        self.get_logger().info(
            f"sim driver at {self.p.rate_hz:g} Hz, seed {self.p.seed}, obstacle {self.p.obstacle}"
        )

    def _tick(self) -> None:
        self.sim.step(None, np.zeros(3))
        stamp = time_msg(self.sim.time)
        self.clock_pub.publish(ClockMsg(clock=stamp))
        msg = JointState()
        msg.header.stamp = stamp
        msg.name = list(c.ALL_JOINTS)
        msg.position = [float(x) for x in np.concatenate([self.sim.arm_positions(), self.sim.wheel_positions()])]
        msg.velocity = [float(x) for x in np.concatenate([self.sim.arm_velocities(), self.sim.wheel_velocities()])]
        self.joint_pub.publish(msg)

    def destroy_node(self) -> None:
        self.sim.close()
        super().destroy_node()


def main(args=None) -> int:
    rclpy.init(args=args)
    try:
        node = DriverNode()
    except (ValueError, RuntimeError) as exc:
        print(f"driver: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
