"""What the driver node needs from a robot backend (sim or Feetech bus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kiwi_common.diagnostics import Diagnostic


@dataclass
class RobotState:
    """Joint state in ROS units, ARM_JOINTS and WHEEL_JOINTS order."""

    arm_position: np.ndarray  # rad
    arm_velocity: np.ndarray  # rad/s
    wheel_position: np.ndarray  # rad
    wheel_velocity: np.ndarray  # rad/s


class Backend(Protocol):
    def read(self) -> RobotState: ...

    def write(self, arm_targets: np.ndarray | None, wheel_speeds: np.ndarray) -> None:
        """Send arm targets (rad; None leaves them) and wheel speeds (rad/s)."""

    def stop_base(self) -> None: ...

    def close(self, torque_off: bool) -> None: ...

    def diagnostics(self) -> list[Diagnostic]: ...
