"""When the expert takes over from the policy (human-gated DAgger with the scripted expert as the
human). Pure: actions and times in, a verdict out.

The envelope is "close to what the expert would do here, and clear of the obstacle":
- base: |policy twist - expert twist| > `base_error` m/s (vx, vy, and wz times the chassis radius,
  so a turn counts as the speed of the chassis rim);
- arm: the largest |policy target - expert target| over the arm joints > `arm_error` rad;
- clearance: the chassis closer than `clearance` m to the obstacle (taken over at once).
Outside the envelope for `engage_s` (a few ticks: one bad action is not a take-over), the expert
takes over. It hands back once the policy's proposals (it keeps computing them while the expert
drives) are inside `release_fraction` of the limits and the chassis is clear, for `release_s`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiwi_description import constants as c


@dataclass(frozen=True)
class GateRule:
    base_error: float = 0.10  # m/s
    arm_error: float = math.radians(20.0)  # rad
    clearance: float = 0.03  # m
    engage_s: float = 0.2
    release_s: float = 0.5
    release_fraction: float = 0.5


def action_errors(policy_twist, policy_arm, expert_twist, expert_arm) -> tuple[float, float]:
    """(base error in m/s, largest arm joint error in rad) between two actions."""
    dvx, dvy, dwz = (p - e for p, e in zip(policy_twist, expert_twist))
    base = math.sqrt(dvx * dvx + dvy * dvy + (dwz * c.BASE_BODY_RADIUS) ** 2)
    arm = max(abs(p - e) for p, e in zip(policy_arm, expert_arm))
    return base, arm


class Gate:
    def __init__(self, rule: GateRule = GateRule()):
        self.rule = rule
        self.engaged = False
        self.since: float | None = None  # when the present candidate for a switch started

    def reset(self) -> None:
        self.engaged, self.since = False, None

    def update(self, now: float, base_error: float, arm_error: float, clearance: float) -> bool:
        """One tick's errors and clearance (m; inf without an obstacle) -> whether the expert drives."""
        r = self.rule
        if not self.engaged:
            if clearance < r.clearance:
                self.engaged, self.since = True, None
            elif base_error > r.base_error or arm_error > r.arm_error:
                self.since = now if self.since is None else self.since
                if now - self.since >= r.engage_s:
                    self.engaged, self.since = True, None
            else:
                self.since = None
        else:
            inside = (
                base_error <= r.release_fraction * r.base_error
                and arm_error <= r.release_fraction * r.arm_error
                and clearance >= 2 * r.clearance
            )
            if inside:
                self.since = now if self.since is None else self.since
                if now - self.since >= r.release_s:
                    self.engaged, self.since = False, None
            else:
                self.since = None
        return self.engaged
