"""Checking and limiting the commands the driver receives, as pure functions.

Safety rules (every backend): bad input is rejected with a reason and never reaches the robot;
arm targets are clamped to joint limits and to `max_step` from the present position per tick;
no command for `cmd_timeout` stops the base and holds the arm where it is (never "zeros").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiwi_description.constants import ARM_JOINTS, ARM_LIMITS


class CommandError(ValueError):
    """A command that cannot be used; the message says why."""


def parse_arm_command(names, positions, known: tuple[str, ...] = ARM_JOINTS) -> dict[str, float]:
    """Named joint targets from a JointState-like command; any defect rejects the whole command."""
    names, positions = list(names), list(positions)
    if not names:
        raise CommandError("no joint names")
    if len(names) != len(positions):
        raise CommandError(f"{len(names)} names but {len(positions)} positions")
    if len(set(names)) != len(names):
        raise CommandError(f"duplicate joint names in {names}")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CommandError(f"unknown joint(s) {', '.join(unknown)}; known: {', '.join(known)}")
    bad = [n for n, p in zip(names, positions) if not math.isfinite(p)]
    if bad:
        raise CommandError(f"non-finite position for {', '.join(bad)}")
    return {n: float(p) for n, p in zip(names, positions)}


def parse_twist(vx: float, vy: float, wz: float) -> tuple[float, float, float]:
    values = (vx, vy, wz)
    if not all(math.isfinite(v) for v in values):
        raise CommandError(f"non-finite velocity {values}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def check_stamp(stamp_s: float, now_s: float, max_age_s: float) -> None:
    """Reject commands older than `max_age_s` (0 disables; an unset stamp of 0 is accepted)."""
    if max_age_s > 0 and stamp_s > 0 and now_s - stamp_s > max_age_s:
        raise CommandError(f"stale command: stamped {now_s - stamp_s:.3f} s ago (max {max_age_s:g} s)")


_LOWER = np.array([ARM_LIMITS[n].lower for n in ARM_JOINTS])
_UPPER = np.array([ARM_LIMITS[n].upper for n in ARM_JOINTS])


def arm_targets(
    requested: dict[str, float], previous: np.ndarray, present: np.ndarray, max_step: float
) -> np.ndarray:
    """New targets in ARM_JOINTS order: named joints take the request, the others keep their
    previous target; then joint limits, then at most `max_step` (rad) away from `present`."""
    target = np.array(previous, dtype=float)
    for i, name in enumerate(ARM_JOINTS):
        if name in requested:
            target[i] = requested[name]
    target = np.clip(target, _LOWER, _UPPER)
    if max_step > 0:
        target = np.clip(target, present - max_step, present + max_step)
    return target


@dataclass
class Watchdog:
    """Expires when nothing fed it for `timeout` seconds (or it was never fed)."""

    timeout: float
    last: float | None = None

    def feed(self, now: float) -> None:
        self.last = now

    def expired(self, now: float) -> bool:
        return self.last is None or now - self.last > self.timeout
