"""Where Diffusion's sampler starts, and what it does to success: a Diffusion checkpoint in Kiwi's env
evaluation (the policy node's chunk timing) on the same layouts with the denoising started from
LeRobot's fresh Gaussian noise at every chunk (`random`, what the policy node does), from zero noise
(`zero`: the sampler deterministic, no draw), and from one Gaussian draw kept for the whole episode
(`episode`: a draw per episode, as ACT's per-episode latent). Each mode's strict success and lifted
rate, and McNemar's exact test against `random` on the same layouts.

    .venv/bin/python benchmarks/diffusion_noise.py MODEL [--seeds 5000 5030] [--modes random zero episode]

Runs in one process: the modes replace LeRobot's `DiffusionModel.conditional_sample`, since Kiwi's
`ChunkPredictor` calls `predict_action_chunk` without a noise (evaluation workers, separate
processes, would import LeRobot unchanged). About 2.5 min per mode for 30 layouts on one core.
Development layouts by default: this is a diagnosis, not a figure to report.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

MODES = ("random", "zero", "episode")


def start_noise_from(mode: str) -> None:
    """Make every Diffusion sampler in this process start from `mode`'s noise."""
    import torch
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionModel, DiffusionPolicy

    if not hasattr(DiffusionModel, "lerobot_conditional_sample"):
        DiffusionModel.lerobot_conditional_sample = DiffusionModel.conditional_sample
        DiffusionPolicy.lerobot_reset = DiffusionPolicy.reset

    def conditional_sample(self, batch_size, global_cond=None, generator=None, noise=None):
        shape = (batch_size, self.config.horizon, self.config.action_feature.shape[0])
        if mode == "zero":
            noise = torch.zeros(shape, dtype=next(self.parameters()).dtype)
        elif mode == "episode":
            if getattr(self, "episode_noise", None) is None:
                self.episode_noise = torch.randn(shape, generator=generator)
            noise = self.episode_noise
        return self.lerobot_conditional_sample(batch_size, global_cond, generator, noise)

    def reset(self):
        self.diffusion.episode_noise = None  # the next episode draws its own
        return self.lerobot_reset()

    DiffusionModel.conditional_sample = conditional_sample
    DiffusionPolicy.reset = reset


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="a Diffusion `pretrained_model` folder")
    p.add_argument("--seeds", type=int, nargs=2, default=(5000, 5030), metavar=("FIRST", "END"))
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = p.parse_args()

    from kiwi_experiments.env_runs import MAX_TICKS, evaluation_summaries
    from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text

    seeds = list(range(*args.seeds))
    outcomes = {}
    for mode in args.modes:
        start_noise_from(mode)
        summaries = list(evaluation_summaries(args.model, seeds, MAX_TICKS, workers=1))  # in this process
        outcomes[mode] = {s["seed"]: s["success"] for s in summaries}
        strict, lifted = sum(outcomes[mode].values()), sum(s["lifted"] for s in summaries)
        against = ""
        if mode != "random" and "random" in outcomes:
            pairs = paired_outcomes(outcomes[mode], outcomes["random"])
            p_value = mcnemar_exact(pairs["only_first"], pairs["only_second"])
            against = f", against random +{pairs['only_first']} / -{pairs['only_second']}, p = {p_value:.2g}"
        print(
            f"{mode}: strict {rate_text(strict, len(seeds))}, lifted {lifted}/{len(seeds)}{against}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
