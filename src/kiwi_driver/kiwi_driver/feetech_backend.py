"""The real LeKiwi bus: nine STS3215 servos through LeRobot's FeetechMotorsBus.

Arm ids 1-6 in position mode (PID 16/0/32 as LeRobot's LeKiwi.configure), wheels 7-9 in velocity
mode, 1 Mbps, LeRobot's calibration JSON for the robot id (LeRobot's degrees convention). No
interactive calibration here: a missing or mismatched calibration is an error that says how to
calibrate. Bus errors are retried; after `max_failures` failed cycles in a row the port is
reopened. Per-servo voltage and temperature go to diagnostics.
"""

from __future__ import annotations

import time

import numpy as np

from kiwi_common import units
from kiwi_common.diagnostics import Diagnostic
from kiwi_common.feetech_bus import BUS_ERRORS, ServoBus, calibration_path, last_line, load_calibration
from kiwi_description import constants as c
from kiwi_description import kinematics as kin

from .backend import RobotState

ARM_P, ARM_I, ARM_D = 16, 0, 32
STEPS_TO_RAD = 2.0 * np.pi / c.STEPS_PER_REV


def configure_lekiwi(bus) -> None:
    """LeRobot's LeKiwi.configure: arm in position mode with its PID, wheels in velocity mode."""
    bus.disable_torque()
    bus.configure_motors()
    for name in c.ARM_JOINTS:
        bus.write("Operating_Mode", name, 0)
        bus.write("P_Coefficient", name, ARM_P)
        bus.write("I_Coefficient", name, ARM_I)
        bus.write("D_Coefficient", name, ARM_D)
    for name in c.WHEEL_JOINTS:
        bus.write("Operating_Mode", name, 1)
    bus.enable_torque()


class FeetechBackend:
    def __init__(
        self, port: str, robot_id: str, calibration_dir: str = "", num_retry: int = 2, max_failures: int = 3
    ):
        from lerobot.motors import Motor, MotorNormMode

        self.port = port
        self.num_retry = num_retry
        how = (
            f"calibrate with: lerobot-calibrate --robot.type=lekiwi --robot.id={robot_id} "
            f"--robot.port=<port> (on the robot)"
        )
        calibration = load_calibration(calibration_path(robot_id, calibration_dir), c.MOTOR_IDS, how)
        motors = {}
        for name in c.ALL_JOINTS:
            mode = (
                MotorNormMode.RANGE_0_100
                if name == c.GRIPPER_JOINT
                else MotorNormMode.RANGE_M100_100
                if name in c.WHEEL_JOINTS
                else MotorNormMode.DEGREES
            )
            motors[name] = Motor(c.MOTOR_IDS[name], "sts3215", mode)
        self.servos = ServoBus(
            port,
            motors,
            calibration,
            configure_lekiwi,
            "the LeKiwi bus",
            "lerobot-calibrate --robot.type=lekiwi",
            max_failures,
        )
        self.bus = self.servos.bus
        self.wheel_position = np.zeros(3)
        self._last_read = None

    # --- Backend ---------------------------------------------------------------------------------

    def read(self) -> RobotState:
        def read_all():
            pos = self.bus.sync_read("Present_Position", list(c.ARM_JOINTS), num_retry=self.num_retry)
            vel = self.bus.sync_read(
                "Present_Velocity", list(c.ALL_JOINTS), normalize=False, num_retry=self.num_retry
            )
            return pos, vel

        pos, vel = self.servos.cycle(read_all)
        now = time.monotonic()
        wheel_velocity = kin.raw_to_wheel_speeds([vel[n] for n in c.WHEEL_JOINTS])
        if self._last_read is not None:
            self.wheel_position += wheel_velocity * (now - self._last_read)
        self._last_read = now
        return RobotState(
            arm_position=np.array([units.joint_lerobot_to_rad(n, pos[n]) for n in c.ARM_JOINTS]),
            arm_velocity=np.array([vel[n] * STEPS_TO_RAD for n in c.ARM_JOINTS]),
            wheel_position=self.wheel_position.copy(),
            wheel_velocity=wheel_velocity,
        )

    def write(self, arm_targets: np.ndarray | None, wheel_speeds: np.ndarray) -> None:
        raw = dict(zip(c.WHEEL_JOINTS, kin.wheel_speeds_to_raw(kin.clamp_wheel_speeds(wheel_speeds))))

        def write_all():
            if arm_targets is not None:
                goal = {n: units.joint_rad_to_lerobot(n, float(v)) for n, v in zip(c.ARM_JOINTS, arm_targets)}
                self.bus.sync_write("Goal_Position", goal)
            self.bus.sync_write("Goal_Velocity", raw)

        self.servos.cycle(write_all)

    def stop_base(self) -> None:
        self.bus.sync_write("Goal_Velocity", dict.fromkeys(c.WHEEL_JOINTS, 0), num_retry=5)

    def close(self, torque_off: bool) -> None:
        if self.bus.is_connected:
            self.servos.abandon_transaction()
            try:
                self.stop_base()
            finally:
                self.servos.close(torque_off)

    def diagnostics(self) -> list[Diagnostic]:
        out = [self.servos.diagnostic()]
        try:
            volts = self.bus.sync_read("Present_Voltage", normalize=False, num_retry=self.num_retry)
            temps = self.bus.sync_read("Present_Temperature", normalize=False, num_retry=self.num_retry)
        except BUS_ERRORS as exc:
            return out + [Diagnostic(3, "servos", f"no telemetry: {last_line(exc)}")]
        for name in c.ALL_JOINTS:
            v, t = volts[name] / 10.0, temps[name]
            lvl = 2 if t >= 70 or v < 6.0 else 1 if t >= 60 or v < 6.5 else 0
            out.append(
                Diagnostic(
                    lvl,
                    f"servo {name}",
                    f"{v:.1f} V, {t} C",
                    {"voltage": f"{v:.1f}", "temperature": str(t), "id": str(c.MOTOR_IDS[name])},
                    hardware_id=f"{self.port}#{c.MOTOR_IDS[name]}",
                )
            )
        return out
