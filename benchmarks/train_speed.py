"""Training speed on the CPU, Kiwi's loader and thread settings against lerobot-train's own: each policy
trained for a few hundred steps on the same dataset at batch 32 (Kiwi's CPU-sized models), once with
no data-loader processes and a torch thread per core (lerobot-train with --num_workers=0), once
with Kiwi's two loader processes and one thread (`kiwi_policy.train`). Steps per second are taken
from the progress between a quarter of the steps and the last one, past the start-up.

    .venv/bin/python benchmarks/train_speed.py DATASET [--policies act diffusion kiwi_mlp]
        [--steps 200] [--batch-size 32]

DATASET: a `kiwi demo` run's `datasets/r0`. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_policy.train import LOADER_WORKERS, train  # noqa: E402

# Torch's default is a thread per core; it is set explicitly because kiwi_policy.train would
# otherwise give the training one thread.
CORES = len(os.sched_getaffinity(0))
SETTINGS = {  # name: (loader processes, torch threads)
    f"no loader processes, {CORES} threads": (0, CORES),
    f"{LOADER_WORKERS} loader processes, 1 thread (Kiwi)": (LOADER_WORKERS, 1),
}


def steps_per_second(dataset: Path, policy: str, workers: int, threads: int, steps: int, batch: int) -> float:
    times: list[tuple[int, float]] = []
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the caller's setting wins in kiwi_policy.train
    try:
        with tempfile.TemporaryDirectory() as tmp:
            train(
                dataset,
                policy,
                Path(tmp) / "model",
                steps=steps,
                batch_size=batch,
                extra=[f"--num_workers={workers}"],
                log=Path(tmp) / "train.log",
                on_step=lambda step: times.append((step, time.monotonic())),
            )
    finally:
        os.environ.pop("OMP_NUM_THREADS", None)
        if saved is not None:
            os.environ["OMP_NUM_THREADS"] = saved
    first = next((t for t in times if t[0] >= steps // 4), None)
    if first is None or times[-1][0] <= first[0]:
        raise SystemExit(f"train_speed: too few steps logged for {policy}; give more --steps")
    return (times[-1][0] - first[0]) / (times[-1][1] - first[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--policies", nargs="+", default=["act", "diffusion", "kiwi_mlp"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    print(f"steps/s, batch {args.batch_size}, {args.steps} steps, {CORES} cores, {args.dataset}")
    print(f"{'policy':10} " + " ".join(f"{name:>38}" for name in SETTINGS))
    for policy in args.policies:
        rates = [
            steps_per_second(args.dataset, policy, workers, threads, args.steps, args.batch_size)
            for workers, threads in SETTINGS.values()
        ]
        print(f"{policy:10} " + " ".join(f"{rate:38.2f}" for rate in rates), flush=True)


if __name__ == "__main__":
    main()
