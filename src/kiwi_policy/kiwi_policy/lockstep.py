"""The policy node's chunk timing, in lockstep with a simulation's ticks (one thread, no ROS).

Through the sim graph the node ticks when the driver's /clock arrives, after that tick's state
(the driver publishes the clock last). Its inference thread answers within the tick, so a chunk
asked for at tick k is computed from tick k's observation and is used from tick k + 1: its
action 0, meant for tick k, has elapsed. The node asks for the next chunk when the newest has two
actions left (its lead is at least one tick: a chunk is used from the tick after it was asked
for), holds when it has none (an episode's first tick),
and asks every tick while a human drives. `LockstepChunks` does the same with the node's scheduler,
so that an episode in the gymnasium env acts as the deployed graph does. Measured in the env on
200 development layouts with one checkpoint: each chunk executed whole from its own tick, 89 %;
this timing, 87.5 %; this timing on observations one tick older (the graph's, when the clock
came first), 79 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .scheduler import Chunk, ChunkScheduler


@dataclass
class LockstepChunks:
    dt: float  # s per tick: the policy's action spacing
    scheduler: ChunkScheduler = field(default_factory=ChunkScheduler)
    arriving: Chunk | None = None  # asked for at the last tick, used from this one

    def reset(self) -> None:
        self.scheduler.reset()
        self.arriving = None

    def tick(
        self, k: int, predict: Callable[[], np.ndarray], replan: bool = False
    ) -> tuple[np.ndarray | None, Chunk | None]:
        """Tick k's action (None: no chunk covers it, hold) and the chunk asked for at this tick
        from this tick's observation (`predict()`; None if none was asked for). `replan`: ask
        whatever is left (a human drives)."""
        now = k * self.dt
        if self.arriving is not None:
            self.scheduler.add(self.arriving, now)
            self.arriving = None
        action = self.scheduler.action(now)
        if replan or self.scheduler.needs_chunk(now, lead=self.dt):
            self.arriving = Chunk(now, self.dt, np.asarray(predict()))
        return action, self.arriving
