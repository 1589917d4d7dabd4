"""What one rollout in the sim did, from ground-truth samples: strict success (`kiwi_common.task`:
the cube between the jaws, 5 cm up, for 1 s) and the old "lifted" beside it, collisions (any part of the
robot touching the obstacle, from the sim's contacts), the chassis' closest approach, time,
interventions, which side of the obstacle it passed, and how far its actions were from the
expert's. Pure: samples in, numbers out (the `kiwi demo` client collects the samples).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from kiwi_common.task import HoldClock, chassis_clearance, held_at, is_held_up, is_lifted

PASS_WINDOW = 0.05  # m: the robot counts as beside the obstacle within this of its centre line


@dataclass(frozen=True)
class Sample:
    t: float  # sim time, s
    x: float
    y: float
    yaw: float
    cube_z: float
    intervention: bool = False  # the expert drives (the mux's /intervention)
    gate: bool = False  # the gate's verdict (/expert/gate): outside the envelope
    contact: bool = False  # any part of the robot touches the obstacle (the sim's contacts)
    between_jaws: bool = False  # the cube touches both jaws (the sim's contacts)


@dataclass
class Rollout:
    seed: int
    obstacle: tuple[float, float] | None
    samples: list[Sample] = field(default_factory=list)
    base_errors: list[float] = field(default_factory=list)  # m/s, policy vs expert, per tick
    arm_errors: list[float] = field(default_factory=list)  # rad, largest joint difference, per tick
    takeover_reasons: list[str] = field(default_factory=list)  # the gate's, one per take-over
    # Strict success as the samples arrive: each is read once, however often the loop asks.
    _hold: HoldClock = field(default_factory=HoldClock, init=False, repr=False, compare=False)
    _read: int = field(default=0, init=False, repr=False, compare=False)
    _succeeded: bool = field(default=False, init=False, repr=False, compare=False)

    def succeeded(self) -> bool:
        while not self._succeeded and self._read < len(self.samples):
            x = self.samples[self._read]
            self._succeeded = self._hold.update(x.t, is_held_up(x.cube_z, x.between_jaws))
            self._read += 1
        return self._succeeded

    def elapsed(self) -> float:
        return self.samples[-1].t - self.samples[0].t if self.samples else 0.0


def success_time(samples: list[Sample]) -> float | None:
    """When strict success came (sim time), or None."""
    return held_at((x.t, is_held_up(x.cube_z, x.between_jaws)) for x in samples)


def rising_edges(flags) -> int:
    """How many times a boolean series turns true (a series starting true counts once)."""
    previous, count = False, 0
    for flag in flags:
        count += bool(flag) and not previous
        previous = bool(flag)
    return count


def passing_side(samples: list[Sample], obstacle: tuple[float, float] | None) -> str | None:
    """'left' (+y) or 'right' of the obstacle where the robot came level with it; None if it never did."""
    if obstacle is None or not samples:
        return None
    level = min(samples, key=lambda s: abs(s.x - obstacle[0]))
    if abs(level.x - obstacle[0]) > PASS_WINDOW:
        return None
    return "left" if level.y > obstacle[1] else "right"


NUMBER = (int, float)
# What `summarize` writes, by type: what a summary read back from a run folder must hold.
SUMMARY_TYPES = {
    "seed": (int,),
    "obstacle": (list, type(None)),
    "success": (bool,),
    "lifted": (bool,),
    "time_to_success": (*NUMBER, type(None)),
    "duration": NUMBER,
    "collisions": (int,),
    "min_clearance": (*NUMBER, type(None)),
    "interventions": (int,),
    "intervention_time": NUMBER,
    "gate_fires": (int,),
    "takeover_reasons": (dict,),
    "side": (str, type(None)),
    "base_error": (*NUMBER, type(None)),
    "arm_error_deg": (*NUMBER, type(None)),
    "trajectory": (list,),
}


def summary_problem(summary) -> str | None:
    """What makes `summary` not one `summarize` wrote (None if nothing)."""
    if not isinstance(summary, dict):
        return "not an episode's summary"
    for key, types in SUMMARY_TYPES.items():
        if key not in summary:
            return f"no {key}"
        value = summary[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{key} is {value!r}"
    return None


def summarize(rollout: Rollout, trajectory_every: int = 3) -> dict:
    """One rollout's measures (JSON-ready)."""
    s = rollout.samples
    if not s:
        raise ValueError(f"seed {rollout.seed}: no ground truth was received during the episode")
    succeeded_at = success_time(s)
    gaps = [chassis_clearance((x.x, x.y), rollout.obstacle) for x in s]
    return {
        "seed": rollout.seed,
        "obstacle": list(rollout.obstacle) if rollout.obstacle else None,
        "success": succeeded_at is not None,
        "lifted": any(is_lifted(x.cube_z) for x in s),
        "time_to_success": None if succeeded_at is None else round(succeeded_at - s[0].t, 3),
        "duration": round(s[-1].t - s[0].t, 3),
        "collisions": rising_edges(x.contact for x in s),
        "min_clearance": None if rollout.obstacle is None else round(min(gaps), 4),
        "interventions": rising_edges(x.intervention for x in s),
        "intervention_time": round(sum(b.t - a.t for a, b in zip(s, s[1:]) if a.intervention), 3),
        "gate_fires": rising_edges(x.gate for x in s),
        "takeover_reasons": dict(Counter(rollout.takeover_reasons)),
        "side": passing_side(s, rollout.obstacle),
        "base_error": _mean(rollout.base_errors),
        "arm_error_deg": None
        if not rollout.arm_errors
        else round(math.degrees(float(np.mean(rollout.arm_errors))), 3),
        "trajectory": [[round(x.x, 4), round(x.y, 4)] for x in s[::trajectory_every]],
    }


def _mean(values) -> float | None:
    return None if not values else round(float(np.mean(values)), 4)


def aggregate(summaries: list[dict]) -> dict:
    """Measures over a set of rollouts (one table row)."""
    n = len(summaries)
    if not n:
        return {"episodes": 0}
    times = [x["time_to_success"] for x in summaries if x["success"]]
    sides = [x["side"] for x in summaries if x["obstacle"] is not None]
    return {
        "episodes": n,
        "success": sum(x["success"] for x in summaries) / n,
        "lifted": sum(x["lifted"] for x in summaries) / n,
        "collision_episodes": sum(x["collisions"] > 0 for x in summaries),
        "collisions_per_episode": sum(x["collisions"] for x in summaries) / n,
        "interventions_per_episode": sum(x["interventions"] for x in summaries) / n,
        "intervention_time_fraction": (
            sum(x["intervention_time"] for x in summaries) / max(sum(x["duration"] for x in summaries), 1e-9)
        ),
        "gate_fires_per_episode": sum(x["gate_fires"] for x in summaries) / n,
        "takeover_reasons": dict(sum((Counter(x.get("takeover_reasons", {})) for x in summaries), Counter())),
        "time_to_success": _mean(times),
        "base_error": _mean([x["base_error"] for x in summaries if x["base_error"] is not None]),
        "arm_error_deg": _mean([x["arm_error_deg"] for x in summaries if x["arm_error_deg"] is not None]),
        "left": sides.count("left"),
        "right": sides.count("right"),
        "not_passed": sides.count(None),
    }
