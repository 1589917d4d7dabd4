"""The episodes of `kiwi demo --backend env`: the same experiment as `kiwi demo`, with the
demonstrations and the HG-DAgger rollouts run in the gymnasium env instead of the ROS graphs.

The same expert (kiwi_teleop.expert), gate (kiwi_teleop.gating), layouts, driver limits and policy
loader; the expert takes over and hands back at the tick the gate decides, with no DDS, no mux
blend and no process timing between them. Each episode's labelled frames are kept in
`bags/<batch>/episode_NNN.npz` (in place of the recorder's bags); the datasets are written with
LeRobot's writer as `kiwi convert` writes them: the demonstrations whole, the corrections as
segments (merged and dropped by the converter's rules, each `correction_weight` times). Everything
after that (training, continuing, the control, evaluations, report) is `kiwi demo`'s own.

What it is for: telling what the method does from what the ROS pipeline does to it. The same
settings run both ways, and a difference between them is the graph's (timing, blending, recording).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kiwi_description.constants import CONTROL_RATE_HZ
from kiwi_recorder.convert import MERGE_GAP_FRAMES, intervention_segments
from kiwi_teleop.gating import Gate

from .env_runs import drive_policy, expert_episode, load_frames, policy_in_env, save_frames, write_dataset
from .evaluation import Rollout, summarize
from .plan import Batch, DemoConfig, chunk_frames, demo_mapping

SIDES = {"left": 1, "right": -1}


class EnvEpisodes:
    def __init__(self, out: Path, config: DemoConfig):
        self.out, self.config = out, config
        self.mapping = demo_mapping(config.observation)

    def run(self, batch: Batch, keep: Callable[[dict], None]) -> None:
        """The expert alone (`record`) or the policy under the gate (`dagger`, the model in the
        batch's args); each episode's labelled frames in bags/<batch>/episode_NNN.npz."""
        folder = self.out / "bags" / batch.name
        folder.mkdir(parents=True, exist_ok=True)
        ticks = int(batch.timeout_s * CONTROL_RATE_HZ)
        model = batch.args["model"] if batch.policy else None
        noise = self.config.diffusion_noise
        with policy_in_env(model, mapping=self.mapping, diffusion_noise=noise) as (predictor, env):
            for k, plan in enumerate(batch.plans, start=batch.first):
                rollout = Rollout(plan.seed, None)
                side = detour_side(self.config, plan.seed)  # as the graph's expert_side
                if predictor is None:
                    frames = expert_episode(env, plan.seed, side, ticks, rollout, require_lift=False)
                else:
                    _, frames = drive_policy(
                        env,
                        predictor,
                        plan.seed,
                        ticks,
                        rollout,
                        gate=Gate(self.config.gate_rule()),
                        side=side,
                    )
                rollout.obstacle = env.layout.obstacle_xy  # the layout the episode reset to
                saved = folder / f"episode_{k:03d}.npz"
                save_frames(saved, [frames], [[s.intervention for s in rollout.samples[: len(frames)]]])
                keep({**summarize(rollout), "recorder": str(saved)})

    def write_dataset(self, out: Path, demos: list[str], rollouts: list[str]) -> dict:
        demos = [
            frames
            for batch in demos
            for path in _episodes(self.out / "bags" / batch)
            for frames in load_frames(path)[0]
        ]
        paths = [path for batch in rollouts for path in _episodes(self.out / "bags" / batch)]
        segments, flags, correction_frames = [], [], 0
        for path in paths:
            (frames,), (drove,) = load_frames(path)
            spans = intervention_segments(drove, chunk_frames(self.config), MERGE_GAP_FRAMES)
            for a, b in spans:
                correction_frames += b - a
                # Copies: a frame's arrays are views of its whole file's, images included.
                segment = [
                    ({k: v.copy() for k, v in obs.items()}, action.copy()) for obs, action in frames[a:b]
                ]
                # A merged segment keeps its gap's frames as the policy's (0), as convert does.
                segments += [segment] * self.config.correction_weight
                flags += [drove[a:b]] * self.config.correction_weight
        flags = [np.zeros(len(f)) for f in demos] + flags
        total = write_dataset(out, demos + segments, flags, self.mapping)
        return {
            "demonstrations": len(demos),
            "rollouts": len(paths),
            "episodes": len(demos) + len(segments),
            "frames": total,
            "correction_frames": correction_frames,
        }


def detour_side(config: DemoConfig, seed: int) -> int:
    """The expert's detour side at the start of the layout `seed`: the configured side, or drawn
    from the run's and the layout's seeds."""
    side = SIDES.get(config.detour)
    return side or int(np.random.default_rng([config.seed, seed]).choice((-1, 1)))


def _episodes(folder: Path) -> list[Path]:
    return sorted(folder.glob("episode_[0-9][0-9][0-9].npz"))  # not a cut-off write's .partial.npz
