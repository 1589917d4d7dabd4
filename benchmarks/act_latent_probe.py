"""What ACT's latent carries at the start of the textbook task's demonstrations, and whether its
decoder listens. For each demonstration's frame at `--frames` (0: the start state, which every start
seed shares between its left and its right detour), the VAE encoder's posterior given the frame's
state and its action chunk: its KL against the prior, the distance between the left and the right
demonstrations' mean posteriors, and the posterior's own SD (a sample the decoder trains on is
mean + SD x noise: a distance far below the SD is a side the decoder cannot read). Then the
decoder's first lateral command at the start frames with the latent set to each side's mean
posterior, to zero (LeRobot's inference), and to +-2 and +-5 along the left-right direction.

    .venv/bin/python benchmarks/act_latent_probe.py MODEL DATASET [--frames 0 5 15 30]

MODEL: an ACT `pretrained_model` folder trained on DATASET, a `benchmarks/bimodal_env.py` demos
dataset (its `dataset` folder). Runs on the CPU in a few seconds.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from kiwi_experiments.env_runs import Y_VEL  # noqa: E402


def posteriors(loaded, dataset, indices: list[int]):
    """The VAE encoder's (batch, mu, log sigma^2) at those frames, as training computes them.
    ACT runs its encoder when its top module is in training mode; every submodule stays in
    eval mode, so no dropout (attention's included) and the figures repeat."""
    import torch
    from torch.utils.data import default_collate

    batch = loaded.preprocessor(default_collate([dataset[i] for i in indices]))
    policy = loaded.policy
    policy.eval()
    policy.model.training = True
    try:
        with torch.no_grad():
            _, (mu, log_sigma_x2) = policy.model(batch)
    finally:
        policy.model.training = False
    return batch, mu, log_sigma_x2


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("dataset", type=Path)
    p.add_argument("--frames", type=int, nargs="+", default=[0, 5, 15, 30])
    args = p.parse_args()

    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    from kiwi_policy.act_latent import episode_latent
    from kiwi_policy.checkpoint import load_policy

    torch.set_num_threads(1)
    loaded = load_policy(str(args.model))
    config = loaded.policy.config
    if config.type != "act" or not config.use_vae:
        p.error(f"{args.model} is not an ACT trained with its VAE")
    if config.image_features:
        p.error(f"{args.model} reads cameras; the probe calls ACT's model without its image step")
    fps = LeRobotDatasetMetadata("local/probe", root=args.dataset).fps
    chunk = {"action": [k / fps for k in range(config.chunk_size)]}
    dataset = LeRobotDataset("local/probe", root=args.dataset, delta_timestamps=chunk)
    starts = [int(i) for i in dataset.meta.episodes["dataset_from_index"]]
    # A demonstration's side: the sign of its first second's lateral commands.
    side = np.sign([float(dataset[i]["action"][:fps, Y_VEL].mean()) for i in starts])

    print(f"{args.model}: kl_weight {config.kl_weight:g}, latent_dim {config.latent_dim}")
    print(f"{len(starts)} demonstrations, {int((side > 0).sum())} left, {int((side < 0).sum())} right")
    print("| frame | KL (nats, mean) | distance left-right of mean posteriors | posterior SD (mean) |")
    print("|---|---|---|---|")
    for frame in args.frames:
        _, mu, log_sigma_x2 = posteriors(loaded, dataset, [i + frame for i in starts])
        kl = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1)
        distance = (mu[side > 0].mean(0) - mu[side < 0].mean(0)).norm()
        print(f"| {frame} | {kl.mean():.4f} | {distance:.3f} | {(log_sigma_x2 / 2).exp().mean():.3f} |")

    batch, mu, _ = posteriors(loaded, dataset, starts)
    left, right = mu[side > 0].mean(0), mu[side < 0].mean(0)
    direction = (left - right) / (left - right).norm()
    latent = episode_latent(loaded.policy)
    loaded.policy.eval()  # the wrapper too (LeRobot's predict_action_chunk does this at each call)
    print("\n| latent at the start frames | first y.vel, mean (m/s) | mean of abs |")
    print("|---|---|---|")
    for name, z in (
        ("left's mean posterior", left),
        ("right's mean posterior", right),
        ("zero (LeRobot's inference)", torch.zeros_like(left)),
        *((f"{k:+g} along left-right", k * direction) for k in (2, -2, 5, -5)),
    ):
        latent.z = z[None]
        with torch.no_grad():
            actions = loaded.postprocessor(loaded.policy.model(batch)[0])
        first = actions[:, 0, Y_VEL]
        print(f"| {name} | {first.mean():+.3f} | {first.abs().mean():.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
