"""Does more training on the same data still change success? One policy trained as `kiwi demo`'s
round 0 is (the same batch, training seed and `lerobot-train`; kiwi_mlp or `--policy`), a checkpoint
every `--every` steps, each checkpoint scored on a run's development layouts in the gymnasium env
(strict success and the loose "lifted", Wilson 95 % intervals, and each checkpoint against the last
paired by layout). With `--validation F` the last F of the demonstrations (whole episodes) are held
out of training and the loss on them is printed by step beside the training losses (ACT's
`kld_loss` among them): the plateau. `eval_loss` is the policy's loss as it runs (LeRobot's eval
mode): ACT's without the KL term and with its latent at zero, so read it against `l1_loss`, not
`loss`; kiwi_mlp's without the image shift. For choosing training steps and presets: diagnosis and tuning
use development layouts, never the held-out ones.

    .venv/bin/python benchmarks/training_curve.py DATASET [--policy kiwi_mlp|act|diffusion]
        [--steps 12000] [--every 3000] [--validation 0.2] [--layouts 50] [--run-seed 0]
        [--out DIR] [-- LEROBOT-TRAIN OPTIONS]

DATASET: a `kiwi demo` run's `datasets/r0` (its demonstrations). Layouts: the development seeds of
`kiwi demo --seed RUN_SEED` (RUN_SEED x 100000 + 5000, ...), the obstacle on every one, 20 s each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_experiments.env_runs import evaluation_summaries, usable_cores  # noqa: E402
from kiwi_experiments.plan import DemoConfig, trainings  # noqa: E402
from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text  # noqa: E402
from kiwi_policy.train import CPU_DEFAULTS, option_values, read_loss_curve, train  # noqa: E402

VALIDATIONS_PER_CHECKPOINT = 4  # held-out loss this many times between two checkpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--policy", choices=sorted(CPU_DEFAULTS), default=DemoConfig.policy)
    parser.add_argument("--steps", type=int, default=12000)
    parser.add_argument("--every", type=int, default=3000)
    parser.add_argument(
        "--validation", type=float, default=0.0, help="share of the episodes held out for the loss (0: none)"
    )
    parser.add_argument("--layouts", type=int, default=50)
    parser.add_argument("--run-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="training folder (default: a temporary one)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)  # after --: lerobot-train options
    args = parser.parse_args(argv[:split])
    train_options = argv[split + 1 :]
    config = DemoConfig(policy=args.policy, seed=args.run_seed, dev_episodes=args.layouts)
    log_freq = int(
        option_values(train_options).get("--log_freq", max(1, args.every // VALIDATIONS_PER_CHECKPOINT))
    )
    validation = (
        [f"--dataset.eval_split={args.validation}", f"--eval_steps={log_freq}"] if args.validation else []
    )
    seeds = [plan.seed for plan in config.plans("dev", args.layouts)]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "model"
        started = time.monotonic()
        train(
            args.dataset,
            config.policy,
            out,
            steps=args.steps,
            batch_size=config.batch_size,
            seed=config.seed + trainings(config)[0].seed,  # round 0's
            extra=[f"--save_freq={args.every}", f"--log_freq={log_freq}", *validation, *train_options],
            log=Path(tmp) / "train.log",
        )
        trained = time.monotonic() - started
        losses = read_loss_curve(Path(tmp) / "train.log", log_freq)
        curve = {}
        for step in range(args.every, args.steps + 1, args.every):
            model = out / "checkpoints" / f"{step:06d}" / "pretrained_model"
            ticks = int(config.timeout_s * 30)
            curve[step] = list(evaluation_summaries(model, seeds, ticks, workers=usable_cores()))
    last = {s["seed"]: s["success"] for s in curve[args.steps]}
    print(
        f"{config.policy} {' '.join(train_options)}, batch {config.batch_size}, trained on {args.dataset} "
        f"({trained / 60:.1f} min{f', the last {args.validation:.0%} of its episodes held out' if args.validation else ''}); "
        f"development layouts {seeds[0]}..{seeds[-1]}"
    )
    names = sorted({name for metrics in losses.values() for name in metrics})
    print(f"{'steps':>6} " + " ".join(f"{name:>10}" for name in names))
    for step, metrics in losses.items():
        print(f"{step:6d} " + " ".join(f"{metrics[n]:10.4g}" if n in metrics else " " * 10 for n in names))
    print(f"{'steps':>6} {'strict success [95 % CI]':28} {'lifted':>7}  against the last checkpoint")
    for step, summaries in curve.items():
        n = len(summaries)
        pairs = paired_outcomes({s["seed"]: s["success"] for s in summaries}, last)
        p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
        print(
            f"{step:6d} {rate_text(sum(s['success'] for s in summaries), n):28} "
            f"{100 * sum(s['lifted'] for s in summaries) / n:6.0f}%  "
            f"+{pairs['only_first']} / -{pairs['only_second']}, p = {p:.3g}"
        )


if __name__ == "__main__":
    main()
