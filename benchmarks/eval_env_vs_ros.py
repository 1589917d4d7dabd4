"""The same checkpoints on the same layouts, evaluated two ways, side by side: through the ROS
policy graph (`kiwi demo`'s evaluation: driver, policy node, mux, expert as labeller, over DDS)
and with LeRobot's `lerobot-eval --env.type=kiwi` (the gymnasium env, in one process).

    .venv/bin/kiwi demo --out data/sbs --rounds 0 --eval-episodes 50     # models + ROS evaluation
    .venv/bin/python benchmarks/eval_env_vs_ros.py data/sbs [--figure docs/env_vs_ros.png]

For each round-0 model of the run: success with Wilson 95 % intervals both ways, the layouts
paired (both / only one / neither, McNemar's exact p), wall time per episode and episodes per
minute. The ROS side is read from the run (its episode summaries and stage times); the
lerobot-eval side is run here, on the run's evaluation seeds (consecutive, so `--seed` is the
first), with the same 20 s limit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text, wilson_interval  # noqa: E402

LABELS = {"chunked": "ACT, chunked", "bc": "single-step BC"}


def lerobot_eval(model: Path, seeds: list[int], episode_s: float) -> tuple[dict[int, bool], float]:
    """Success per seed and the wall time of one `lerobot-eval` run over `seeds` (consecutive)."""
    assert seeds == list(range(seeds[0], seeds[0] + len(seeds))), "lerobot-eval runs consecutive seeds"
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "lerobot.scripts.lerobot_eval",
            f"--policy.path={model}",
            "--policy.device=cpu",
            "--env.type=kiwi",
            f"--env.episode_length={round(episode_s * 30)}",
            f"--eval.n_episodes={len(seeds)}",
            "--eval.batch_size=1",
            f"--seed={seeds[0]}",
            f"--output_dir={tmp}",
        ]
        started = time.monotonic()
        run = subprocess.run(command, capture_output=True, text=True)
        wall = time.monotonic() - started
        if run.returncode != 0:
            raise SystemExit(f"lerobot-eval failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
        info = json.loads((Path(tmp) / "eval_info.json").read_text())
    (task,) = info["per_task"]  # one env, batch size 1: episode i ran seed seeds[0] + i
    successes = task["metrics"]["successes"]
    assert len(successes) == len(seeds), f"{len(successes)} episodes for {len(seeds)} seeds"
    return {seed: bool(ok) for seed, ok in zip(seeds, successes)}, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `kiwi demo` run folder")
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    config = json.loads((args.run / "config.json").read_text())
    timings = json.loads((args.run / "timings.json").read_text())
    rows = []
    for key, label in LABELS.items():
        name = f"eval_{key}_r0"
        summaries = [
            json.loads(line) for line in (args.run / "episodes" / f"{name}.jsonl").read_text().splitlines()
        ]
        ros = {s["seed"]: s["success"] for s in summaries}
        seeds = sorted(ros)
        env, env_wall = lerobot_eval(
            args.run / "models" / f"{key}_r0" / "checkpoints" / "last" / "pretrained_model",
            seeds,
            config["timeout_s"],
        )
        pairs = paired_outcomes(ros, env)
        rows.append(
            {
                "method": label,
                "n": len(seeds),
                "ros": sum(ros.values()),
                "env": sum(env.values()),
                "ros_wall": timings[name],
                "env_wall": env_wall,
                **pairs,
                "p": mcnemar_exact(pairs["only_first"], pairs["only_second"]),
            }
        )
    print(
        f"run {args.run}: seeds {seeds[0]}..{seeds[-1]}, obstacle on every layout, {config['timeout_s']:g} s each"
    )
    print(f"{'method':16} {'evaluation':22} {'success [95 % CI]':26} {'s/episode':>9} {'episodes/min':>12}")
    for r in rows:
        for side, wall in (("ROS policy graph", r["ros_wall"]), ("lerobot-eval (env)", r["env_wall"])):
            k = r["ros" if side.startswith("ROS") else "env"]
            print(
                f"{r['method']:16} {side:22} {rate_text(k, r['n']):26} {wall / r['n']:9.2f} {60 * r['n'] / wall:12.1f}"
            )
        print(
            f"{'':16} paired: both {r['both']}, only ROS {r['only_first']}, only env {r['only_second']}, "
            f"neither {r['neither']}; McNemar exact p = {r['p']:.3f}"
        )
    if args.figure:
        figure(rows, args.figure)
        print(f"figure: {args.figure}")


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    width = 0.38
    for i, r in enumerate(rows):
        for j, (key, wall, colour) in enumerate(
            (("ros", "ros_wall", "tab:blue"), ("env", "env_wall", "tab:orange"))
        ):
            rate = r[key] / r["n"]
            low, high = wilson_interval(r[key], r["n"])
            x = i + (j - 0.5) * width
            left.bar(
                x,
                100 * rate,
                width,
                color=colour,
                label=None if i else ("ROS policy graph", "lerobot-eval")[j],
            )
            left.errorbar(
                x, 100 * rate, [[100 * (rate - low)], [100 * (high - rate)]], color="black", capsize=4
            )
            right.bar(x, 60 * r["n"] / r[wall], width, color=colour)
    for axis, title in ((left, "success, 95 % Wilson interval (%)"), (right, "episodes per minute (wall)")):
        axis.set_xticks(range(len(rows)), [r["method"] for r in rows])
        axis.set_title(title, fontsize=10)
    left.set_ylim(0, 100)
    left.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"same checkpoints, same {rows[0]['n']} obstacle layouts", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
