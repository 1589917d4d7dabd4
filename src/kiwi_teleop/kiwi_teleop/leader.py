"""SO-101 leader arm -> LeKiwi arm targets, free of ROS and serial ports.

The leader reads in LeRobot's units (degrees about mid-range, gripper 0..100) under its own
calibration; LeKiwi's arm joints are the same names with an `arm_` prefix and the same units, so
the mapping is by name and unit conversion only (no scaling), as in LeRobot's LeKiwi teleoperate
example. The leader counts as engaged while it moves: a person holding it still for
`hold_s` hands control back to the policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiwi_common import units

LEADER_MOTOR_IDS = {
    "shoulder_pan": 1,
    "shoulder_lift": 2,
    "elbow_flex": 3,
    "wrist_flex": 4,
    "wrist_roll": 5,
    "gripper": 6,
}


def leader_to_arm(positions: dict[str, float]) -> dict[str, float]:
    """{'shoulder_pan': deg, ..., 'gripper': 0..100} -> {'arm_shoulder_pan': rad, ...}."""
    return {
        f"arm_{name}": units.joint_lerobot_to_rad(f"arm_{name}", value) for name, value in positions.items()
    }


@dataclass
class MotionGate:
    """Engaged from a move of more than `threshold` (LeRobot units) on any joint until `hold_s`
    after the last such move. The reference follows the arm, so slow drift accumulates into a move."""

    threshold: float = 2.0
    hold_s: float = 1.0
    reference: dict[str, float] = field(default_factory=dict)
    moved_at: float = float("-inf")

    def update(self, positions: dict[str, float], now: float) -> bool:
        if not self.reference:
            self.reference = dict(positions)
        elif any(abs(v - self.reference.get(k, v)) > self.threshold for k, v in positions.items()):
            self.reference = dict(positions)
            self.moved_at = now
        return now - self.moved_at < self.hold_s
