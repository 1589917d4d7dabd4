"""Who drives: the human or the policy. Pure logic of the `mux` node.

In `teleop` mode the human source is always forwarded and nothing counts as an intervention
(plain demonstrations). In `shared` mode the policy drives unless a human source says it is
engaged (deadman, leader moving, take-over key; each engaged message lasts `human_timeout`).
Handing back to the policy blends from the human's last command to the policy's over
`handback_s`, so the robot never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("teleop", "shared")


def blend(a: dict[str, float], b: dict[str, float], alpha: float) -> dict[str, float]:
    """Per name, (1 - alpha) * a + alpha * b; names only in b pass through."""
    alpha = min(max(alpha, 0.0), 1.0)
    return {k: (1.0 - alpha) * a[k] + alpha * v if k in a else v for k, v in b.items()}


@dataclass
class Arbiter:
    mode: str = "shared"
    human_timeout: float = 0.5
    handback_s: float = 0.5
    engaged_until: float = float("-inf")
    handback_start: float | None = None
    last_human_arm: dict[str, float] = field(default_factory=dict)
    last_human_twist: dict[str, float] = field(default_factory=dict)
    was_human: bool = False

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    def engaged(self, value: bool, now: float) -> None:
        self.engaged_until = now + self.human_timeout if value else float("-inf")

    def human_in_control(self, now: float) -> bool:
        return self.mode == "teleop" or now < self.engaged_until

    def intervention(self, now: float) -> bool:
        """True while a human overrides the policy (never in plain teleop)."""
        return self.mode == "shared" and self.human_in_control(now)

    def _update(self, now: float) -> bool:
        human = self.human_in_control(now)
        if self.was_human and not human:
            self.handback_start = now
        self.was_human = human
        return human

    def human(self, kind: str, command: dict[str, float], now: float) -> dict[str, float] | None:
        """A human command -> what to forward (None: drop it). kind is 'arm' or 'twist'."""
        if not self._update(now):
            return None
        (self.last_human_arm if kind == "arm" else self.last_human_twist).update(command)
        return command

    def policy(self, kind: str, command: dict[str, float], now: float) -> dict[str, float] | None:
        """A policy command -> what to forward, blended towards it just after a hand-back."""
        if self._update(now):
            return None
        if self.handback_start is None:
            return command
        alpha = (now - self.handback_start) / self.handback_s if self.handback_s > 0 else 1.0
        if alpha >= 1.0:
            self.handback_start = None
            return command
        return blend(self.last_human_arm if kind == "arm" else self.last_human_twist, command, alpha)
