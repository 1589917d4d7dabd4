"""The policy node's core, free of ROS: the observation history, inference on a worker thread,
the chunk scheduler, holding when dry, interventions, and the health the node reports.

The node hands it one snapshot of its inputs per control tick (opaque here: the node's
`observe` turns one into the policy's observation, its `problem` says why one cannot be used) and
publishes what `tick` returns. Rules:

- Inference never runs in `tick`: the worker thread takes the newest `n_obs_steps` snapshots when
  the scheduler asks for a chunk, refuses a stale one, and hands the chunk to the scheduler. A
  chunk computed across a `reset` is thrown away. A predictor that raises is counted and retried.
- Dry (no action for this tick), `tick` holds: the arm at the last target sent (or where it is),
  the base stopped; never zeros. A worker thread that died (a bug, not a policy error) is an ERROR
  in `health` and the robot holds from then on.
- During a human intervention the policy keeps planning from the present observations (a chunk
  per tick), so at the hand-back its newest chunk is fresh: the first command after it is the
  policy's own, not a stop while it starts again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kiwi_common.features import split_action

from .scheduler import Chunk, ChunkScheduler

ERROR, WARN, OK = 2, 1, 0


@dataclass(frozen=True)
class Snapshot:
    stamp: float  # observation time (s): the chunk's actions[0] is meant for it
    data: object  # the node's messages for this tick


@dataclass(frozen=True)
class Command:
    arm: dict[str, float]  # rad, by joint name
    twist: tuple[float, float, float]  # m/s, m/s, rad/s
    held: bool  # True: a hold (no action from the policy for this tick)


@dataclass
class Stats:
    chunks: int = 0
    stale: int = 0
    dropped: int = 0
    dry_ticks: int = 0
    ticks: int = 0
    errors: int = 0
    resets: int = 0
    latencies: deque = field(default_factory=lambda: deque(maxlen=100))  # s, newest last
    ages: deque = field(default_factory=lambda: deque(maxlen=20))  # clock s from observation to chunk


class PolicyRuntime:
    def __init__(
        self,
        predictor,
        observe: Callable[[object], dict[str, np.ndarray]],
        problem: Callable[[object, float], str],
        scheduler: ChunkScheduler,
        n_obs_steps: int,
        dt: float,
        clock: Callable[[], float],
        on_chunk: Callable[[Chunk, Snapshot], None] = lambda chunk, snapshot: None,
        retry_s: float = 0.5,
    ):
        self.predictor, self.observe, self.problem = predictor, observe, problem
        self.scheduler, self.dt, self.clock, self.on_chunk = scheduler, dt, clock, on_chunk
        self.retry_s = retry_s
        self.lock = threading.Lock()
        self.history: deque[Snapshot] = deque(maxlen=n_obs_steps)
        self.running = False
        self.intervention = False
        self.generation = 0  # bumped by every reset: a chunk computed before it is thrown away
        self.hold_arm: dict[str, float] | None = None
        self.stats = Stats()
        self.last_problem = ""
        self.death = ""  # why the worker thread ended, if it did
        self.wanted = threading.Event()
        self.alive = True
        self.worker = threading.Thread(target=self._run_worker, daemon=True, name="policy-inference")
        self.worker.start()

    # --- control (the node's timer) ----------------------------------------------------------------

    def tick(self, snapshot: Snapshot | None, present_arm: dict[str, float] | None) -> Command | None:
        """This tick's command, or None (stopped, or no joint state yet). `snapshot`: this tick's
        whole set of inputs (None while one is missing); `present_arm`: the arm's positions."""
        with self.lock:
            if snapshot is not None:
                self.history.append(snapshot)
            if not self.running or present_arm is None:
                return None
            self.stats.ticks += 1
            if not self.worker.is_alive():
                self.stats.dry_ticks += 1
                return self._hold(present_arm)
            now = self.clock()
            action = self.scheduler.action(now)
            # The slowest recent arrival (never dry), and at least a tick: a chunk asked for now is
            # used from the next tick at the earliest, however fast it comes (on sim time, at once).
            lead = max([self.dt, *self.stats.ages])
            if self.intervention or self.scheduler.needs_chunk(now, lead):
                self.wanted.set()
            if action is None:
                self.stats.dry_ticks += 1
                return self._hold(present_arm)
        arm, twist = split_action(action)
        self.hold_arm = arm
        return Command(arm, twist, held=False)

    def _hold(self, present_arm: dict[str, float]) -> Command:
        if self.hold_arm is None:
            self.hold_arm = dict(present_arm)
        return Command(dict(self.hold_arm), (0.0, 0.0, 0.0), held=True)

    # --- episodes and interventions ----------------------------------------------------------------

    def start(self) -> None:
        self.reset()
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.reset()

    def reset(self) -> None:
        """A new episode: no chunk, no history, no hold target; the next chunk is asked for."""
        with self.lock:
            self.generation += 1
            self.stats.resets += 1
            self.scheduler.reset()
            self.history.clear()
            self.hold_arm = None
            self.predictor.reset()
        self.wanted.set()

    def set_intervention(self, active: bool) -> None:
        """A human drives (True) or handed back (False). Nothing is reset: while the human drives
        the policy replans every tick, so its newest chunk is fresh at the hand-back."""
        self.intervention = bool(active)
        if active:
            self.wanted.set()

    # --- inference (the worker thread) -------------------------------------------------------------

    def _run_worker(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # a bug: recorded, and `tick` holds the robot from now on
            self.death = f"inference thread died: {exc!r}"
            raise

    def _work(self) -> None:
        while self.alive:
            if not self.wanted.wait(timeout=0.1):
                continue
            self.wanted.clear()
            with self.lock:
                if not self.running or not self.history:
                    continue
                snapshots, generation = list(self.history), self.generation
            newest = snapshots[-1]
            problem = self.problem(newest.data, self.clock())
            if problem:
                self.stats.stale += 1
                self.last_problem = f"observation refused: {problem}"
                time.sleep(self.dt)
                continue
            started = time.perf_counter()
            try:
                actions = self.predictor.predict([self.observe(s.data) for s in snapshots])
            except Exception as exc:  # a policy error must not stop the robot for good: report, retry
                self.stats.errors += 1
                self.last_problem = f"inference failed: {exc!r}"
                time.sleep(self.retry_s)
                continue
            chunk = Chunk(newest.stamp, self.dt, np.asarray(actions))
            with self.lock:
                self.stats.latencies.append(time.perf_counter() - started)
                self.stats.ages.append(max(0.0, self.clock() - newest.stamp))
                if generation != self.generation:
                    continue  # reset while inferring: the chunk belongs to another episode
                self.stats.dropped += self.scheduler.add(chunk, self.clock())
                self.stats.chunks += 1
            self.on_chunk(chunk, newest)

    def close(self, timeout: float = 5.0) -> None:
        self.alive = False
        self.wanted.set()
        self.worker.join(timeout=timeout)

    # --- health ------------------------------------------------------------------------------------

    def health(self) -> tuple[int, str, dict[str, str]]:
        """(level, message, values) for /diagnostics."""
        with self.lock:
            now = self.clock()
            newest = self.scheduler.chunks[-1] if self.scheduler.chunks else None
            queue = self.scheduler.remaining(now)
            latencies = [v * 1e3 for v in self.stats.latencies]
        stats = self.stats
        values = {
            "inference_ms_p50": f"{_percentile(latencies, 50):.1f}",
            "inference_ms_p99": f"{_percentile(latencies, 99):.1f}",
            "chunk_age_s": f"{now - newest.t0:.3f}" if newest else "none",
            "queue_depth": str(queue),
            **{
                k: str(getattr(stats, k))
                for k in ("chunks", "stale", "dropped", "dry_ticks", "ticks", "errors")
            },
            "resets": str(stats.resets),
            "running": str(self.running).lower(),
            "intervention": str(self.intervention).lower(),
            "last_problem": self.death or self.last_problem,
        }
        if not self.worker.is_alive() and self.alive:
            return ERROR, f"{self.death or 'inference thread ended'}; holding position", values
        if not self.running:
            return OK, "stopped", values
        if stats.chunks == 0:
            return WARN, self.last_problem or "waiting for the first chunk", values
        if queue == 0:
            return WARN, f"dry: holding position ({self.last_problem or 'inference behind'})", values
        return OK, "driving", values


def _percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")
