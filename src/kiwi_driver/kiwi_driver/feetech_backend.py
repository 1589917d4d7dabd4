"""The real LeKiwi bus: nine STS3215 servos through LeRobot's FeetechMotorsBus.

Arm ids 1-6 in position mode (PID 16/0/32 as LeRobot's LeKiwi.configure), wheels 7-9 in velocity
mode, 1 Mbps, LeRobot's calibration JSON for the robot id (LeRobot's degrees convention). No
interactive calibration here: a missing or mismatched calibration is an error that says how to
calibrate. Bus errors are retried; after `max_failures` failed cycles in a row the port is
reopened. Per-servo voltage and temperature go to diagnostics.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_description import units

from .backend import Diagnostic, RobotState

ARM_P, ARM_I, ARM_D = 16, 0, 32
STEPS_TO_RAD = 2.0 * np.pi / c.STEPS_PER_REV


class BusError(RuntimeError):
    """The bus did not answer as it should; the message says what failed."""


def calibration_path(robot_id: str, calibration_dir: str = "") -> Path:
    if calibration_dir:
        return Path(calibration_dir).expanduser() / f"{robot_id}.json"
    from lerobot.utils.constants import HF_LEROBOT_CALIBRATION

    return HF_LEROBOT_CALIBRATION / "robots" / "lekiwi" / f"{robot_id}.json"


def load_calibration(path: Path, robot_id: str) -> dict:
    """LeRobot's calibration file -> {motor name: MotorCalibration}, checked for all nine motors."""
    from lerobot.motors import MotorCalibration

    how = (f"calibrate with: lerobot-calibrate --robot.type=lekiwi --robot.id={robot_id} "
           f"--robot.port=<port> (on the robot)")
    if not path.is_file():
        raise BusError(f"no calibration for robot id '{robot_id}' at {path}; {how}")
    try:
        raw = json.loads(path.read_text())
        calibration = {name: MotorCalibration(**raw[name]) for name in c.ALL_JOINTS}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BusError(f"calibration file {path} is not a LeKiwi calibration ({exc!r}); {how}") from exc
    wrong_ids = {n: cal.id for n, cal in calibration.items() if cal.id != c.MOTOR_IDS[n]}
    if wrong_ids:
        raise BusError(f"calibration {path} has unexpected motor ids {wrong_ids}; expected {c.MOTOR_IDS}")
    return calibration


class FeetechBackend:
    def __init__(self, port: str, robot_id: str, calibration_dir: str = "", num_retry: int = 2,
                 max_failures: int = 3):
        from lerobot.motors import Motor, MotorNormMode
        from lerobot.motors.feetech import FeetechMotorsBus

        self.port = port
        self.num_retry = num_retry
        self.max_failures = max_failures
        self.calibration = load_calibration(calibration_path(robot_id, calibration_dir), robot_id)
        motors = {}
        for name in c.ALL_JOINTS:
            mode = (MotorNormMode.RANGE_0_100 if name == c.GRIPPER_JOINT
                    else MotorNormMode.RANGE_M100_100 if name in c.WHEEL_JOINTS else MotorNormMode.DEGREES)
            motors[name] = Motor(c.MOTOR_IDS[name], "sts3215", mode)
        self.bus = FeetechMotorsBus(port=port, motors=motors, calibration=self.calibration)
        self.failures = 0  # consecutive failed cycles
        self.errors = 0
        self.reconnects = 0
        self.last_error = ""
        self.wheel_position = np.zeros(3)
        self._last_read = None
        self._connect()

    # --- connection ------------------------------------------------------------------------------

    def _connect(self) -> None:
        try:
            self.bus.connect()
        except (ConnectionError, RuntimeError, OSError) as exc:
            raise BusError(f"cannot open the LeKiwi bus on {self.port}: {exc}".strip()) from exc
        if not self.bus.is_calibrated:
            self.bus.disconnect(disable_torque=False)
            raise BusError("the servos' calibration (homing offsets, limits) differs from the calibration file; "
                           "recalibrate with lerobot-calibrate --robot.type=lekiwi, which writes both")
        self._configure()

    def _configure(self) -> None:
        bus = self.bus
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

    def _reconnect(self) -> None:
        self.reconnects += 1
        try:
            if self.bus.is_connected:
                self.bus.port_handler.closePort()
            self._connect()
            self.failures = 0
        except BusError as exc:
            self.last_error = str(exc)

    def _cycle(self, fn):
        """Run one bus operation; count failures and reopen the port after too many in a row."""
        try:
            result = fn()
        except (ConnectionError, RuntimeError, OSError) as exc:
            self.failures += 1
            self.errors += 1
            self.last_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
            if self.failures >= self.max_failures:
                self._reconnect()
            raise BusError(self.last_error) from exc
        self.failures = 0
        return result

    # --- Backend ---------------------------------------------------------------------------------

    def read(self) -> RobotState:
        def read_all():
            pos = self.bus.sync_read("Present_Position", list(c.ARM_JOINTS), num_retry=self.num_retry)
            vel = self.bus.sync_read("Present_Velocity", list(c.ALL_JOINTS), normalize=False,
                                     num_retry=self.num_retry)
            return pos, vel

        pos, vel = self._cycle(read_all)
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

        self._cycle(write_all)

    def stop_base(self) -> None:
        self.bus.sync_write("Goal_Velocity", dict.fromkeys(c.WHEEL_JOINTS, 0), num_retry=5)

    def close(self, torque_off: bool) -> None:
        if self.bus.is_connected:
            try:
                self.stop_base()
            finally:
                self.bus.disconnect(disable_torque=torque_off)

    def diagnostics(self) -> list[Diagnostic]:
        level = 0 if self.failures == 0 else 2
        out = [Diagnostic(level, "bus", "ok" if level == 0 else f"failing: {self.last_error}", {
            "port": self.port, "errors": str(self.errors), "reconnects": str(self.reconnects),
            "last_error": self.last_error}, hardware_id=self.port)]
        try:
            volts = self.bus.sync_read("Present_Voltage", normalize=False, num_retry=self.num_retry)
            temps = self.bus.sync_read("Present_Temperature", normalize=False, num_retry=self.num_retry)
        except (ConnectionError, RuntimeError, OSError) as exc:
            return out + [Diagnostic(3, "servos", f"no telemetry: {str(exc).strip().splitlines()[-1]}")]
        for name in c.ALL_JOINTS:
            v, t = volts[name] / 10.0, temps[name]
            lvl = 2 if t >= 70 or v < 6.0 else 1 if t >= 60 or v < 6.5 else 0
            out.append(Diagnostic(lvl, f"servo {name}", f"{v:.1f} V, {t} C",
                                  {"voltage": f"{v:.1f}", "temperature": str(t), "id": str(c.MOTOR_IDS[name])},
                                  hardware_id=f"{self.port}#{c.MOTOR_IDS[name]}"))
        return out
