"""`kiwi train`: `lerobot-train`, offline, with CPU-sized defaults (registered with the `kiwi` command
through the `kiwi.commands` entry point group). Arguments after `--` go to lerobot-train."""

from __future__ import annotations

import sys
from pathlib import Path

from kiwi_common.arguments import number_in

from .train import BATCH_SIZE, PRESETS, training_steps_text


def run(args) -> int:
    from .checkpoint import models_root
    from .train import TrainError, check_dataset, train

    try:
        if args.check:
            check_dataset(args.dataset)
            print(f"{args.dataset}: ready to train")
            return 0
        pretrained = train(
            args.dataset,
            args.policy,
            args.out or models_root() / args.policy,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            extra=args.passthrough,
            preset=args.preset,
        )
    except TrainError as exc:
        print(f"kiwi train: {exc}", file=sys.stderr)
        return 1
    print(f"checkpoint: {pretrained}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a LeRobot policy on a dataset, offline, with CPU-sized defaults")
    p.add_argument("dataset", type=Path, help="LeRobotDataset folder (from kiwi convert)")
    p.add_argument("--policy", default="act", help="policy type: act, diffusion or kiwi_mlp")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="new output folder (default: $KIWI_MODELS/<policy>, else the workspace's data/models/<policy>)",
    )
    p.add_argument(
        "--steps",
        type=number_in(int, 1),
        default=None,
        help=f"training steps (default: the policy's, {training_steps_text()})",
    )
    p.add_argument("--batch-size", type=number_in(int, 1), default=BATCH_SIZE)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="cpu",
        help="cpu: Kiwi's CPU-sized model on the CPU (default); lerobot: LeRobot's own sizes, device (a "
        "GPU when there is one), data loader and pretrained backbone (downloaded by torchvision)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="read and check the dataset as training would (every data file), then stop",
    )
    p.set_defaults(func=run)
    p.epilog = "More lerobot-train arguments go after --, e.g. -- --policy.chunk_size=50"
