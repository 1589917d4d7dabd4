"""The textbook's experiment on LeKiwi, in the gymnasium env: demonstrations that detour left and
right from exactly the same start states; an MSE behaviour-cloning MLP, the same with DAgger rounds
(the expert labels every state the learner visits; whole rollouts join the data; each round trains
afresh for the same steps), and a 2-mode mixture MLP (lerobot_policy_kiwi, trained with
lerobot-train), each evaluated on the same fixed obstacle layouts. Theory: MSE averages the two
detours (its lateral command at the start is near zero, it drives at the obstacle); DAgger lowers
its on-policy error but not the averaging; the mixture commits to one detour and uses both.

    .venv/bin/python benchmarks/bimodal_env.py [--out data/bimodal] [--demo-seeds 20] [--layouts 50]
        [--steps 4000] [--dagger-rounds 2] [--dagger-rollouts 20] [--train-seed 1000] [--figure docs/bimodal.png]

Every stage is kept in --out and skipped when there (demos, models, evaluations); results.json
holds the table's numbers and the code version.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from kiwi_experiments.demo import code_version  # noqa: E402
from kiwi_experiments.env_runs import (  # noqa: E402
    evaluate_in_env,
    expert_episode,
    policy_runs,
    read_episodes,
    record_env_demos,
    start_commands,
    write_dataset,
    write_episodes,
)
from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text, wilson_interval  # noqa: E402
from kiwi_policy.train import train  # noqa: E402

METHODS = {"mse": ["--policy.head=mse"], "mixture": ["--policy.head=mixture"]}
START_SAMPLES = 10  # policy samples per layout at the start state


def share_text(count: int, n: int) -> str:
    low, high = wilson_interval(count, n)
    return f"{100 * count / n:.0f} % [{100 * low:.0f}, {100 * high:.0f}]"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("data/bimodal"))
    p.add_argument("--demo-seeds", type=int, default=20, help="start states, each demonstrated both ways")
    p.add_argument("--layouts", type=int, default=50, help="evaluation layouts (seeds 5000, 5001, ...)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--train-seed", type=int, default=1000, help="another seed, another --out: the noise floor"
    )
    p.add_argument("--dagger-rounds", type=int, default=2)
    p.add_argument("--dagger-rollouts", type=int, default=20)
    p.add_argument("--figure", type=Path, default=None)
    args = p.parse_args()
    code = code_version()  # at once: files edited while it runs must not be taken for its code
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(5000, 5000 + args.layouts))
    timings = {}

    dataset = out / "dataset"
    if not dataset.exists():
        t = time.time()
        summary = record_env_demos(dataset, list(range(1000, 1000 + args.demo_seeds)), (1, -1))
        (out / "demos.json").write_text(json.dumps(summary))
        timings["demos"] = time.time() - t
    demos = json.loads((out / "demos.json").read_text())

    results = {"code": code, "args": {k: str(v) for k, v in vars(args).items()}, "methods": {}}
    episodes = {}

    def stage(name: str, data: Path, extra: list[str]) -> None:
        """Train (if not there), evaluate on the layouts (if not there), summarise."""
        model = out / "models" / name
        if not model.exists():
            t = time.time()
            train(
                data,
                "kiwi_mlp",
                model,
                args.steps,
                args.batch_size,
                args.train_seed,
                extra,
                log=out / f"train_{name}.log",
            )
            timings[f"train {name}"] = time.time() - t
        evaluation = out / f"eval_{name}.json"
        if not evaluation.exists():
            t = time.time()
            write_episodes(evaluation, evaluate_in_env(model, seeds))
            timings[f"eval {name}"] = time.time() - t
        starts = out / f"start_{name}.json"
        if not starts.exists():
            starts.write_text(json.dumps(start_commands(model, seeds, START_SAMPLES)))
        runs = episodes[name] = read_episodes(evaluation)
        start, error = np.array(json.loads(starts.read_text())), np.array([e.action_error for e in runs])
        results["methods"][name] = {
            "success": sum(e.success for e in runs),
            "collisions": sum(e.collision for e in runs),
            "n": len(runs),
            "sides": {s: sum(e.side == s for e in runs) for s in ("left", "right", "neither")},
            "closest_m": float(np.median([e.clearance for e in runs])),
            "start_lateral_mean": float(start.mean()),
            "start_lateral_abs_mean": float(np.abs(start).mean()),
            "start_lateral_sd": float(start.std()),
            "action_error": float(error.mean()),
            "action_error_ci": 1.96 * float(error.std(ddof=1)) / np.sqrt(len(error)),
        }

    for name, extra in METHODS.items():
        stage(name, dataset, extra)
    # DAgger on the MSE policy, the expert as the oracle: the demonstrations again (the env is
    # deterministic: the same episodes) plus every rollout so far, relabelled.
    demo_seeds = list(range(1000, 1000 + args.demo_seeds))
    collected = None
    for round_ in range(1, args.dagger_rounds + 1):
        name, previous = f"mse_dagger_r{round_}", "mse" if round_ == 1 else f"mse_dagger_r{round_ - 1}"
        data = out / f"dataset_{name}"
        if not data.exists():
            if collected is None:
                from lerobot_env_kiwi.env import KiwiPickEnv

                env = KiwiPickEnv(obstacle=True, render_mode=None)
                collected = [expert_episode(env, seed, side) for seed in demo_seeds for side in (1, -1)]
                env.close()
                for r in range(1, round_):  # rollouts of earlier rounds (a resumed run)
                    collected += rollouts(out, r, args.dagger_rollouts)
            collected += rollouts(out, round_, args.dagger_rollouts, out / "models" / previous)
            write_dataset(data, collected)
        stage(name, data, METHODS["mse"])

    results["demos"] = {
        "episodes": demos["episodes"],
        "start_lateral_mean": float(np.mean(demos["start_lateral"])),
        "start_lateral_abs_mean": float(np.mean(np.abs(demos["start_lateral"]))),
    }
    success = {name: {e.seed: e.success for e in runs} for name, runs in episodes.items()}
    comparisons = [("mse", "mixture")] + [("mse", f"mse_dagger_r{args.dagger_rounds}")] * (
        args.dagger_rounds > 0
    )
    results["paired"] = {}
    for first, second in comparisons:
        counts = paired_outcomes(success[first], success[second])
        results["paired"][f"{first} vs {second}"] = {
            **counts,
            "p": mcnemar_exact(counts["only_first"], counts["only_second"]),
        }
    results["timings_s"] = timings
    (out / "results.json").write_text(json.dumps(results, indent=2))

    print(f"code {results['code']['commit']} dirty={results['code']['dirty']}; {args.layouts} layouts")
    print(
        f"demonstrations: {demos['episodes']} episodes, start y.vel mean {results['demos']['start_lateral_mean']:+.3f}"
        f" m/s, |y.vel| {results['demos']['start_lateral_abs_mean']:.3f}"
    )
    print(
        "| method | success | collisions | left / right / neither | closest (median, m) "
        "| start y.vel mean, |y.vel|, sd (m/s) | on-policy error (MSE vs expert) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, r in results["methods"].items():
        n, s = r["n"], r["sides"]
        print(
            f"| {name} | {rate_text(r['success'], n)} | {share_text(r['collisions'], n)} | "
            f"{s['left']} / {s['right']} / {s['neither']} | {r['closest_m']:.3f} | "
            f"{r['start_lateral_mean']:+.3f}, {r['start_lateral_abs_mean']:.3f}, {r['start_lateral_sd']:.3f} | "
            f"{r['action_error']:.1f} ± {r['action_error_ci']:.1f} |"
        )
    for label, m in results["paired"].items():
        print(
            f"paired {label}: both {m['both']}, only the first {m['only_first']}, only the second "
            f"{m['only_second']}, neither {m['neither']}; McNemar p = {m['p']:.3g}"
        )
    if args.figure:
        figure(args.figure, out, demos, episodes)
    return 0


def rollouts(out: Path, round_: int, count: int, model: Path | None = None) -> list:
    """Round `round_`'s DAgger rollouts (seeds 2000 + 100 r + k), labelled by the expert; made with
    `model` and kept in out/rollouts_r<r>.npz, or read from there."""
    path = out / f"rollouts_r{round_}.npz"
    keys = ("observation.state", "observation.environment_state")
    if not path.exists():
        seeds = [2000 + 100 * round_ + k for k in range(count)]
        runs = [frames for _, frames in policy_runs(model, seeds)]
        np.savez(
            path,
            lengths=[len(f) for f in runs],
            **{k: np.concatenate([[o[k] for o, _ in f] for f in runs]) for k in keys},
            action=np.concatenate([[a for _, a in f] for f in runs]),
        )
    with np.load(path) as stored:  # each stored[k] reads the whole array again: read each once
        data = {k: stored[k] for k in (*keys, "action", "lengths")}
    bounds = np.cumsum([0, *data["lengths"]])
    return [
        [({k: data[k][i] for k in keys}, data["action"][i]) for i in range(a, b)]
        for a, b in zip(bounds, bounds[1:])
    ]


def figure(path: Path, out: Path, demos: dict, episodes: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 1 + len(episodes), figsize=(5 * (1 + len(episodes)), 4))
    bins = np.linspace(-0.22, 0.22, 45)
    axes[0].hist(demos["start_lateral"], bins=bins, alpha=0.5, label="demonstrations", density=True)
    for name in episodes:
        start = json.loads((out / f"start_{name}.json").read_text())
        axes[0].hist(start, bins=bins, histtype="step", linewidth=2, label=name, density=True)
    axes[0].set(title="lateral command at the start", xlabel="y.vel (m/s)", ylabel="density")
    axes[0].legend()
    for ax, (name, runs) in zip(axes[1:], episodes.items()):
        for e in runs:
            xy = np.array(e.path)
            ax.plot(xy[:, 0], xy[:, 1], color="tab:green" if e.success else "tab:red", alpha=0.4, lw=1)
        ax.set(title=f"{name}: paths (green: lifted)", xlabel="x (m)", ylabel="y (m)", aspect="equal")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
