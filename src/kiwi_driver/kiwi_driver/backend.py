"""What the driver node needs from a robot backend (sim or Feetech bus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class RobotState:
    """Joint state in ROS units, ARM_JOINTS and WHEEL_JOINTS order."""

    arm_position: np.ndarray  # rad
    arm_velocity: np.ndarray  # rad/s
    wheel_position: np.ndarray  # rad
    wheel_velocity: np.ndarray  # rad/s


@dataclass
class Diagnostic:
    """One diagnostic_msgs/DiagnosticStatus, without the ROS types."""

    level: int  # 0 OK, 1 WARN, 2 ERROR, 3 STALE
    name: str
    message: str
    values: dict[str, str] = field(default_factory=dict)
    hardware_id: str = ""


def diagnostic_array(node_name: str, diagnostics: list[Diagnostic], stamp):
    """diagnostic_msgs/DiagnosticArray of `diagnostics`, each named '<node_name>: <name>'."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    array = DiagnosticArray(status=[
        DiagnosticStatus(level=bytes([d.level]), name=f"{node_name}: {d.name}", message=d.message,
                         hardware_id=d.hardware_id, values=[KeyValue(key=k, value=v) for k, v in d.values.items()])
        for d in diagnostics])
    array.header.stamp = stamp
    return array


class Backend(Protocol):
    def read(self) -> RobotState: ...

    def write(self, arm_targets: np.ndarray | None, wheel_speeds: np.ndarray) -> None:
        """Send arm targets (rad; None leaves them) and wheel speeds (rad/s)."""

    def stop_base(self) -> None: ...

    def close(self, torque_off: bool) -> None: ...

    def diagnostics(self) -> list[Diagnostic]: ...
