"""`leader`: an SO-101 leader arm on its own Feetech bus drives LeKiwi's arm.

The leader is limp (torque off, position mode, as LeRobot's SOLeader.configure), read at
`rate_hz` in LeRobot's units under its own calibration (LeRobot's `so_leader/<leader_id>.json`),
mapped by joint name onto LeKiwi's arm (`leader.py`), and published as arm targets; `engaged` is
true while the leader moves. A read that fails is retried on the next tick and reported on
/diagnostics; after `max_failures` in a row the port is reopened. Nothing is published while the
leader cannot be read, so the mux's timeout hands the arm back (or holds it).
"""

from __future__ import annotations

import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from kiwi_common.diagnostics import diagnostic_array
from kiwi_common.feetech_bus import BusError, ServoBus, calibration_path, load_calibration
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_description import constants as c

from .leader import LEADER_MOTOR_IDS, MotionGate, leader_to_arm
from .sources import TOPICS, CommandPublisher

INTERFACE = NodeInterface(
    params=(
        Param("port", "/dev/ttyACM1", "Serial port of the leader arm's bus."),
        Param("leader_id", "leader", "LeRobot teleoperator id (names the calibration file)."),
        Param("calibration_dir", "", "Folder of <leader_id>.json; empty: LeRobot's so_leader folder."),
        Param("rate_hz", c.CONTROL_RATE_HZ, "Read and publish rate (Hz)."),
        Param("motion_threshold", 2.0, "A move larger than this (degrees; gripper %) engages the leader."),
        Param("engage_hold_s", 1.0, "Seconds the leader stays engaged after its last move."),
        Param("num_retry", 2, "Retries of one bus read."),
        Param("max_failures", 3, "Failed reads in a row before the port is reopened."),
    ),
    publishes=(TOPICS[0], TOPICS[2], Topic("diagnostics", "diagnostic_msgs/msg/DiagnosticArray")),
)


def configure_leader(bus) -> None:
    """LeRobot's SOLeader.configure: limp, in position mode."""
    bus.disable_torque()
    bus.configure_motors()
    for motor in bus.motors:
        bus.write("Operating_Mode", motor, 0)


def open_leader(port: str, leader_id: str, calibration_dir: str, max_failures: int) -> ServoBus:
    from lerobot.motors import Motor, MotorNormMode

    how = (
        f"calibrate with: lerobot-calibrate --teleop.type=so101_leader --teleop.id={leader_id} "
        f"--teleop.port={port}"
    )
    calibration = load_calibration(
        calibration_path(leader_id, calibration_dir, "teleoperators/so_leader"), LEADER_MOTOR_IDS, how
    )
    motors = {
        name: Motor(i, "sts3215", MotorNormMode.RANGE_0_100 if name == "gripper" else MotorNormMode.DEGREES)
        for name, i in LEADER_MOTOR_IDS.items()
    }
    return ServoBus(
        port,
        motors,
        calibration,
        configure_leader,
        "the leader arm's bus",
        "lerobot-calibrate --teleop.type=so101_leader",
        max_failures,
    )


class LeaderNode(Node):
    def __init__(self) -> None:
        super().__init__("leader")
        p = declare_params(self, INTERFACE)
        try:
            self.servos = open_leader(p.port, p.leader_id, p.calibration_dir, p.max_failures)
        except BusError as exc:
            raise RuntimeError(str(exc)) from exc
        self.num_retry = p.num_retry
        self.gate = MotionGate(threshold=p.motion_threshold, hold_s=p.engage_hold_s)
        self.out = CommandPublisher(self)
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        self.create_timer(1.0 / p.rate_hz, self._tick)
        self.create_timer(1.0, self._publish_diagnostics)

    def _tick(self) -> None:
        try:
            positions = self.servos.cycle(
                lambda: self.servos.bus.sync_read("Present_Position", num_retry=self.num_retry)
            )
        except BusError:
            return  # counted and reported by the bus; the next tick tries again
        self.out.arm(leader_to_arm(positions))
        self.out.engaged(self.gate.update(positions, time.monotonic()))

    def _publish_diagnostics(self) -> None:
        self.diag_pub.publish(
            diagnostic_array(self.get_name(), [self.servos.diagnostic()], self.get_clock().now().to_msg())
        )

    def shutdown(self) -> None:
        self.servos.close(torque_off=True)


def main(args=None) -> int:
    return run_node(LeaderNode, "leader", args)


if __name__ == "__main__":
    sys.exit(main())
