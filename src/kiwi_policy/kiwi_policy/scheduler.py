"""Overlapping action chunks -> one action per control tick. Pure: times in, arrays out.

A chunk is stamped with the time of the observation it was computed from; its action i is meant
for `t0 + i * dt`. Whatever of it lies in the past when it arrives (inference took that long) is
never executed. At a tick, every chunk that has an action for that time is a candidate:

- `latest`: the newest chunk's action (LeRobot's default execution, async or not);
- `ensemble`: ACT's temporal ensembling, weights exp(-m * k) with k = 0 for the oldest chunk (the
  paper's m = 0.01; a larger m trusts older predictions more);
- `average`: the candidates' mean.

The next chunk is asked for, by default, when the newest has only the actions left that cover the
time a chunk takes to arrive (`lead`, measured by the caller) plus one: each chunk is executed
almost whole, as LeRobot executes `n_action_steps` open loop, with no gap before the next. A
policy that regresses actions (an MLP, ACT) drifts when replanned every few ticks: the servo's lag
behind its target makes the first action of every new chunk a small step from where the arm is
(measured in the env: 6 of 10 layouts lifted executing 10-action chunks whole, 2 replanning every
5 or every tick). `refill_fraction` asks earlier instead (temporal ensembling needs a chunk per
tick: 1.0).

When no chunk covers the tick the scheduler is dry and returns None; the caller holds position.
With `late_hold` > 0 the newest chunk's last action stays in force for that long past its time:
a single-step policy's one action is always about a tick old when it arrives, and would otherwise
never run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MODES = ("latest", "ensemble", "average")
MAX_OBS_AGE_S = 0.25  # the policy node's default: older observations are refused


def default_late_hold(single_step: bool, max_obs_age: float = MAX_OBS_AGE_S) -> float:
    """The policy node's `late_hold_s` unless set: a single-step policy's one action is already
    old when it arrives, so it stays in force as long as an observation may be old; none else."""
    return max_obs_age if single_step else 0.0


@dataclass(frozen=True)
class Chunk:
    t0: float  # observation time = time of actions[0] (s)
    dt: float  # spacing of the actions (s)
    actions: np.ndarray  # (T, D)

    def index_at(self, t: float) -> int:
        """The action meant for time t (may be out of range)."""
        return int(math.floor((t - self.t0) / self.dt + 0.5))

    @property
    def end(self) -> float:
        return self.t0 + (len(self.actions) - 1) * self.dt


@dataclass
class ChunkScheduler:
    mode: str = "latest"
    ensemble_coeff: float = 0.01
    refill_fraction: float | None = None  # ask when at most this fraction of the newest is left; None: whole
    late_hold: float = 0.0  # s the newest chunk's last action stays in force past its time
    chunks: list[Chunk] = field(default_factory=list)  # oldest first

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"scheduler mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.refill_fraction is not None and not 0.0 <= self.refill_fraction <= 1.0:
            raise ValueError(f"refill_fraction must be in [0, 1], got {self.refill_fraction}")

    def add(self, chunk: Chunk, now: float) -> int:
        """Take a chunk; returns how many of its actions had already elapsed (dropped)."""
        if chunk.actions.ndim != 2 or not len(chunk.actions):
            raise ValueError(f"a chunk is a (T, D) array with T >= 1, got shape {chunk.actions.shape}")
        elapsed = min(max(chunk.index_at(now), 0), len(chunk.actions))
        if elapsed < len(chunk.actions) or self._held(chunk, now):
            self.chunks.append(chunk)
        self._prune(now)
        return elapsed

    def _held(self, chunk: Chunk, now: float) -> bool:
        return self.late_hold > 0 and now <= chunk.end + self.late_hold

    def _prune(self, now: float) -> None:
        newest = self.chunks[-1] if self.chunks else None
        self.chunks = [
            ch
            for ch in self.chunks
            if ch.index_at(now) < len(ch.actions) or (ch is newest and self._held(ch, now))
        ]

    def action(self, now: float) -> np.ndarray | None:
        """The action for the tick at `now`, or None when dry."""
        self._prune(now)
        candidates = [ch.actions[i] for ch in self.chunks if 0 <= (i := ch.index_at(now)) < len(ch.actions)]
        if not candidates:
            held = self.chunks[-1] if self.chunks and self._held(self.chunks[-1], now) else None
            return None if held is None else held.actions[-1]
        if self.mode == "latest":
            return candidates[-1]
        stacked = np.stack(candidates)
        if self.mode == "average":
            return stacked.mean(axis=0)
        weights = np.exp(-self.ensemble_coeff * np.arange(len(candidates)))
        return (weights[:, None] * stacked).sum(axis=0) / weights.sum()

    def remaining(self, now: float) -> int:
        """Actions of the newest chunk still ahead of `now` (this tick's included)."""
        if not self.chunks:
            return 0
        newest = self.chunks[-1]
        return len(newest.actions) - min(max(newest.index_at(now), 0), len(newest.actions))

    def needs_chunk(self, now: float, lead: float = 0.0) -> bool:
        """Whether to ask for the next chunk now; `lead`: how long one takes to arrive (s)."""
        if not self.chunks:
            return True
        newest = self.chunks[-1]
        if self.refill_fraction is None:
            # Ticks of lead, less a hair: a lead of one tick computed from stamps is 1 + 1e-16.
            return self.remaining(now) <= math.ceil(lead / newest.dt - 1e-6) + 1
        return self.remaining(now) <= self.refill_fraction * len(newest.actions)

    def reset(self) -> None:
        self.chunks.clear()
