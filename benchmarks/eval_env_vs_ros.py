"""The same checkpoints on the same layouts, evaluated three ways, side by side: through the ROS
policy graph (the `dagger` graph with the expert only labelling, as `kiwi demo`'s rollouts run:
driver, policy node, mux over DDS, the sim at the demo's speed, real time); in the gymnasium env
as `kiwi demo` and `kiwi study` evaluate (`env_runs.evaluation_summaries`: the policy node's
loader and its chunk timing in lockstep, one process, as fast as it goes); and with LeRobot's
`lerobot-eval --env.type=kiwi` (the same env, LeRobot's own execution of each chunk whole).

    .venv/bin/python benchmarks/eval_env_vs_ros.py MODEL [MODEL ...] [--layouts 50] [--figure PNG]

MODEL: a `pretrained_model` folder of a state-only policy trained on a `kiwi demo`-style dataset
(`kiwi train`). For each: strict success with Wilson 95 % intervals each way, the graph's layouts
paired with each env's (both / only one / neither, McNemar's exact p), wall time per episode and
episodes per minute.
Layouts: `kiwi demo`'s held-out seeds (900000, 900001, ...), the obstacle on every one, 20 s each.
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
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

from kiwi_description.constants import CONTROL_RATE_HZ  # noqa: E402
from kiwi_experiments.demo import Demo  # noqa: E402
from kiwi_experiments.env_runs import evaluation_summaries  # noqa: E402
from kiwi_experiments.plan import DemoConfig  # noqa: E402
from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text, wilson_interval  # noqa: E402


def ros_eval(model: Path, config: DemoConfig, work: Path) -> tuple[dict[int, bool], float]:
    """Success per seed and wall time through the ROS policy graph, as `kiwi demo`'s rollouts run."""
    demo = Demo(work, config, ["eval_env_vs_ros"], progress=True)
    demo.prepare()
    plans = config.plans("heldout", config.eval_episodes)
    started = time.monotonic()
    summaries = demo.episodes(
        "eval", "dagger", {"model": str(model), "takeover": "never"}, plans, policy=True
    )
    return {s["seed"]: bool(s["success"]) for s in summaries}, time.monotonic() - started


def kiwi_env_eval(model: Path, seeds: list[int], episode_s: float) -> tuple[dict[int, bool], float]:
    """Success per seed and wall time in the env, as `kiwi demo` evaluates, in one process (`kiwi
    demo` spreads the same episodes over the cores: the same outcomes, sooner)."""
    started = time.monotonic()
    summaries = list(evaluation_summaries(model, seeds, round(episode_s * CONTROL_RATE_HZ)))
    return {s["seed"]: bool(s["success"]) for s in summaries}, time.monotonic() - started


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


EVALUATIONS = {
    "ros": "ROS policy graph",
    "kiwi": "env, kiwi demo's evaluation",
    "lerobot": "env, lerobot-eval",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--layouts", type=int, default=50)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    config = DemoConfig(eval_episodes=args.layouts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, model in enumerate(args.models):
            ros, ros_wall = ros_eval(model, config, Path(tmp) / f"ros_{index}")
            seeds = sorted(ros)
            envs = {
                "kiwi": kiwi_env_eval(model, seeds, config.timeout_s),
                "lerobot": lerobot_eval(model, seeds, config.timeout_s),
            }
            row = {"model": str(model), "n": len(seeds), "ros": sum(ros.values()), "ros_wall": ros_wall}
            for key, (env, wall) in envs.items():
                pairs = paired_outcomes(ros, env)
                p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
                row |= {key: sum(env.values()), f"{key}_wall": wall, f"{key}_pairs": pairs | {"p": p}}
            rows.append(row)
    print(f"layouts: seeds {seeds[0]}..{seeds[-1]}, obstacle on every one, {config.timeout_s:g} s each")
    print(f"{'evaluation':28} {'success [95 % CI]':26} {'s/episode':>9} {'episodes/min':>12}")
    for r in rows:
        print(r["model"])
        for key, side in EVALUATIONS.items():
            wall = r[f"{key}_wall"]
            print(f"{side:28} {rate_text(r[key], r['n']):26} {wall / r['n']:9.2f} {60 * r['n'] / wall:12.1f}")
        for key in ("kiwi", "lerobot"):
            pairs = r[f"{key}_pairs"]
            print(
                f"graph against {EVALUATIONS[key]}: both {pairs['both']}, only the graph "
                f"{pairs['only_first']}, only the env {pairs['only_second']}, neither {pairs['neither']}; "
                f"McNemar exact p = {pairs['p']:.3f}"
            )
    if args.figure:
        figure(rows, args.figure)
        print(f"figure: {args.figure}")


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    width = 0.26
    names = [Path(r["model"]).parts[-4] if len(Path(r["model"]).parts) >= 4 else r["model"] for r in rows]
    colours = ("tab:blue", "tab:green", "tab:orange")
    for i, r in enumerate(rows):
        for j, ((key, side), colour) in enumerate(zip(EVALUATIONS.items(), colours)):
            rate = r[key] / r["n"]
            low, high = wilson_interval(r[key], r["n"])
            x = i + (j - 1) * width
            left.bar(x, 100 * rate, width, color=colour, label=None if i else side)
            below, above = max(0.0, rate - low), max(0.0, high - rate)  # float rounding at 0 and 100 %
            left.errorbar(x, 100 * rate, [[100 * below], [100 * above]], color="black", capsize=4)
            right.bar(x, 60 * r["n"] / r[f"{key}_wall"], width, color=colour)
    for axis, title in ((left, "success, 95 % Wilson interval (%)"), (right, "episodes per minute (wall)")):
        axis.set_xticks(range(len(rows)), names)
        axis.set_title(title, fontsize=10)
    left.set_ylim(0, 100)
    left.legend(fontsize=8, loc="lower center")
    fig.suptitle(f"same checkpoints, same {rows[0]['n']} obstacle layouts", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
