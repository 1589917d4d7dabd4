"""How close an ACT or Diffusion policy's action chunk sits to the demonstrations', at the
demonstrations' own states (open loop): the mean absolute error against the recorded actions over
the chunk's first `--steps` actions (ACT runs 30 open loop, Diffusion 8; both are compared on the
first 8 by default). For ACT its chunk (zero latent); for Diffusion one sample, the mean of
`--samples` samples, their spread (SD between samples) and the sampler started from zero noise.
Base: x.vel and y.vel (m/s; theta.vel left out); arm: its five joints (degrees); gripper apart
(degrees). Its own training data measures the fit; another repetition's demonstrations (the same
expert on other layouts) measure it on states it was not trained on. A policy that fits here and
fails in closed loop fails on the states its own actions lead to, not on the demonstrations'.

    .venv/bin/python benchmarks/chunk_fit.py MODEL DATASET [--frames 256] [--samples 8] [--steps 8]

MODEL: a `pretrained_model` folder of an ACT or Diffusion that reads no camera. DATASET: a LeRobot
dataset with its features. Runs on the CPU in under a minute.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_common.arguments import number_in  # noqa: E402
from kiwi_experiments.env_runs import X_VEL, Y_VEL  # noqa: E402

ARM = slice(0, 5)  # the five arm joints of LeRobot's LeKiwi action, degrees; 5 is the gripper
BASE = slice(X_VEL, Y_VEL + 1)  # x.vel and y.vel, m/s


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("dataset", type=Path)
    p.add_argument("--frames", type=int, default=256, help="frames drawn at random (seed 0)")
    p.add_argument(
        "--samples",
        type=number_in(int, 2),
        default=8,
        help="Diffusion's samples per frame (2 or more: their SD)",
    )
    p.add_argument("--steps", type=int, default=8, help="actions of each chunk compared")
    args = p.parse_args()

    import numpy as np
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    from torch.utils.data import default_collate

    from kiwi_policy.checkpoint import load_policy

    torch.set_num_threads(1)
    loaded = load_policy(str(args.model))
    policy, config = loaded.policy, loaded.policy.config
    if config.type not in ("act", "diffusion") or config.image_features:
        p.error(f"{args.model} is not an ACT or Diffusion that reads no camera")
    longest = config.n_action_steps if config.type == "diffusion" else config.chunk_size
    if not 0 < args.steps <= longest:
        p.error(f"--steps must be 1 to {longest}, the actions {args.model} predicts at a time")
    policy.eval()
    fps = LeRobotDatasetMetadata("local/chunk_fit", root=args.dataset).fps
    # Diffusion reads its last n_obs_steps observations, stacked; ACT the current one, unstacked.
    times = {}
    if config.type == "diffusion":
        steps = config.n_obs_steps
        times = {key: [(k - steps + 1) / fps for k in range(steps)] for key in config.input_features}
    dataset = LeRobotDataset(
        "local/chunk_fit",
        root=args.dataset,
        delta_timestamps={**times, "action": [k / fps for k in range(args.steps)]},
    )
    frames = np.random.default_rng(0).choice(len(dataset), min(args.frames, len(dataset)), replace=False)
    items = [dataset[int(i)] for i in frames]
    recorded = torch.stack([item["action"] for item in items])
    valid = ~torch.stack([item["action_is_pad"] for item in items])
    observations = [{key: item[key] for key in config.input_features} for item in items]
    batch = loaded.preprocessor(default_collate(observations))

    def chunk(noise=None):
        policy.reset()  # empty observation queues: the batch's own stacked observations are used
        with torch.no_grad():
            if config.type == "diffusion":
                actions = policy.predict_action_chunk(batch, noise=noise)
            else:
                actions = policy.predict_action_chunk(batch)
            return loaded.postprocessor(actions[:, : args.steps])

    def row(name: str, errors) -> None:
        errors = errors[valid]
        base, arm, gripper = errors[:, BASE].mean(), errors[:, ARM].mean(), errors[:, 5].mean()
        print(f"| {name} | {base:.4f} | {arm:.2f} | {gripper:.2f} |")

    torch.manual_seed(0)
    print(f"{args.model} on {len(items)} frames of {args.dataset}, the first {args.steps} actions")
    print("| chunk | base (m/s) | arm (deg) | gripper |")
    print("|---|---|---|---|")
    if config.type == "act":
        row("ACT's (zero latent)", (chunk() - recorded).abs())
        return 0
    samples = torch.stack([chunk() for _ in range(args.samples)])
    row("one sample", (samples[0] - recorded).abs())
    row(f"mean of {args.samples} samples", (samples.mean(0) - recorded).abs())
    row("SD between samples", samples.std(0))
    zero = torch.zeros(len(items), config.horizon, config.action_feature.shape[0])
    row("from zero noise", (chunk(zero) - recorded).abs())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
