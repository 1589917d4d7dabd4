"""A Feetech (STS3215) bus through LeRobot's FeetechMotorsBus that survives a bad cycle.

Shared by the LeKiwi driver backend and the SO-101 leader arm: LeRobot's calibration files, a
connect step that refuses servos whose calibration differs from the file, and `cycle()`, which
counts failed bus operations and reopens the port after `max_failures` of them in a row.
"""

from __future__ import annotations

import json
import termios
from collections.abc import Callable
from pathlib import Path

from kiwi_common.diagnostics import Diagnostic

BUS_ERRORS = (ConnectionError, RuntimeError, OSError)


class BusError(RuntimeError):
    """The bus did not answer as it should; the message says what failed."""


def calibration_path(robot_id: str, calibration_dir: str = "", kind: str = "robots/lekiwi") -> Path:
    """Where LeRobot keeps a device's calibration: <calibration_dir or LeRobot's>/<kind>/<id>.json
    (`calibration_dir` names the folder of the file itself)."""
    if calibration_dir:
        return Path(calibration_dir).expanduser() / f"{robot_id}.json"
    from lerobot.utils.constants import HF_LEROBOT_CALIBRATION

    return HF_LEROBOT_CALIBRATION / kind / f"{robot_id}.json"


def load_calibration(path: Path, motor_ids: dict[str, int], how: str) -> dict:
    """LeRobot's calibration file -> {motor name: MotorCalibration}, checked for every motor and
    its id; `how` says how to make a right one."""
    from lerobot.motors import MotorCalibration

    if not path.is_file():
        raise BusError(f"no calibration at {path}; {how}")
    try:
        raw = json.loads(path.read_text())
        calibration = {name: MotorCalibration(**raw[name]) for name in motor_ids}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BusError(f"calibration file {path} does not fit this device ({exc!r}); {how}") from exc
    wrong_ids = {n: cal.id for n, cal in calibration.items() if cal.id != motor_ids[n]}
    if wrong_ids:
        raise BusError(f"calibration {path} has unexpected motor ids {wrong_ids}; expected {motor_ids}")
    return calibration


def last_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else repr(exc)


class ServoBus:
    def __init__(
        self,
        port: str,
        motors: dict,
        calibration: dict,
        configure: Callable[[object], None],
        what: str,
        recalibrate: str,
        max_failures: int = 3,
    ):
        from lerobot.motors.feetech import FeetechMotorsBus

        self.port = port
        self.what = what  # 'the LeKiwi bus', for messages
        self.recalibrate = recalibrate
        self.configure = configure
        self.max_failures = max_failures
        self.bus = FeetechMotorsBus(port=port, motors=motors, calibration=calibration)
        self.failures = 0  # consecutive failed cycles
        self.errors = 0
        self.reconnects = 0
        self.last_error = ""
        self.connect()

    def connect(self) -> None:
        try:
            self.bus.connect()
        except BUS_ERRORS as exc:
            raise BusError(f"cannot open {self.what} on {self.port}: {exc}".strip()) from exc
        if not self.bus.is_calibrated:
            self.bus.disconnect(disable_torque=False)
            raise BusError(
                "the servos' calibration (homing offsets, limits) differs from the calibration file; "
                f"recalibrate with {self.recalibrate}, which writes both"
            )
        self.configure(self.bus)

    def _reconnect(self) -> None:
        self.reconnects += 1
        try:
            if self.bus.is_connected:
                self.bus.port_handler.closePort()
            self.connect()
            self.failures = 0
        except BusError as exc:
            self.last_error = str(exc)

    def cycle(self, fn):
        """Run one bus operation; count failures and reopen the port after too many in a row."""
        try:
            result = fn()
        except BUS_ERRORS as exc:
            self.failures += 1
            self.errors += 1
            self.last_error = last_line(exc)
            if self.failures >= self.max_failures:
                self._reconnect()
            raise BusError(self.last_error) from exc
        self.failures = 0
        return result

    def diagnostic(self) -> Diagnostic:
        level = 0 if self.failures == 0 else 2
        return Diagnostic(
            level,
            "bus",
            "ok" if level == 0 else f"failing: {self.last_error}",
            {
                "port": self.port,
                "errors": str(self.errors),
                "reconnects": str(self.reconnects),
                "last_error": self.last_error,
            },
            hardware_id=self.port,
        )

    def abandon_transaction(self) -> None:
        """Free the port from a transaction that Ctrl-C cut short.

        The SDK marks the port busy for the length of a transaction; a KeyboardInterrupt inside one
        leaves the mark, and every later packet (the stop and torque-off on the way out) would fail
        with "Port is in use!". The half-read reply goes with it.
        """
        handler = self.bus.port_handler
        handler.is_using = False
        try:
            if handler.ser is not None and handler.ser.is_open:
                handler.ser.reset_input_buffer()
        except (*BUS_ERRORS, termios.error):  # unplugged: closing copes with that
            pass

    def close(self, torque_off: bool) -> None:
        """Disconnect; a port that has already gone (unplugged) is closed without complaint."""
        if not self.bus.is_connected:
            return
        self.abandon_transaction()
        try:
            self.bus.disconnect(disable_torque=torque_off)
        except (*BUS_ERRORS, termios.error) as exc:
            self.last_error = last_line(exc)
            self.bus.port_handler.closePort()
