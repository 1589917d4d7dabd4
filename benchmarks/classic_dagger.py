"""Classic DAgger beside a `kiwi demo --backend env` run: a diagnostic for on-policy data.

HG-DAgger learns only where the gate took over. Classic DAgger (Ross et al., 2011) labels every
state the policy visits: starting from the run's round 0, each round the latest model drives the
run's own rollout layouts of that round alone (no gate, no take-over; the expert's side at the
start is the run's detour), the expert labels every state it visits (its side then following the
twist the robot executes, as `env_runs.drive_policy` labels), and the next model continues the last one for the run's `round_steps` on the demonstrations plus
every labelled rollout so far (the aggregate; no oversampling). The run's training seed, batch,
rounds and normalization statistics; only the data differ from the HG-DAgger rounds.

    .venv/bin/python benchmarks/classic_dagger.py RUN [RUN ...] [--out data/classic_dagger]

RUN: a finished `kiwi demo --backend env` run folder (a `kiwi study`'s `rep_k`; the env backend
keeps every episode's labelled frames). Per run, the last classic DAgger model on the run's
held-out layouts, paired (McNemar's exact p) with the run's HG-DAgger last round, control and
round 0; the labelled frames each arm learnt from; across runs, mean +- SD and Student's paired
t-test (paired by run). Resumable: a round whose model exists is not run again.
What the policies read: the run's state-only observation (joints, base velocity, and the cube's
and obstacle's positions from the sim's ground truth). No camera.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from dataclasses import fields
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_common.features import MAPPING_FILE  # noqa: E402
from kiwi_description.constants import CONTROL_RATE_HZ  # noqa: E402
from kiwi_experiments.env_episodes import detour_side  # noqa: E402
from kiwi_experiments.env_runs import (  # noqa: E402
    drive_policy,
    evaluation_summaries,
    load_frames,
    policy_in_env,
    save_frames,
    usable_cores,
    write_dataset,
)
from kiwi_experiments.plan import (  # noqa: E402
    PRETRAINED,
    DemoConfig,
    code_version,
    read_summaries,
    round_model,
    train_options,
)
from kiwi_experiments.statistics import (  # noqa: E402
    mcnemar_exact,
    paired_outcomes,
    paired_t_test,
    rate_text,
)
from kiwi_policy.train import train  # noqa: E402

TRAINING_SEED = 1000  # added to the run's seed, as `kiwi demo`'s rounds are trained


def run_config(run: Path) -> DemoConfig:
    saved = json.loads((run / "config.json").read_text())
    config = DemoConfig(**{f.name: saved[f.name] for f in fields(DemoConfig) if f.name in saved})
    if config.backend != "env" or not config.rounds:
        raise SystemExit(f"{run}: a `kiwi demo --backend env` run with DAgger rounds is needed")
    return config


def episodes_in(folder: Path) -> list:
    return [
        episode
        for path in sorted(folder.glob("episode_[0-9][0-9][0-9].npz"))
        for episode in load_frames(path)[0]
    ]


def classic_dagger(run: Path, out: Path) -> Path:
    """The rounds of classic DAgger from the run's round 0; the last model's folder."""
    config = run_config(run)
    demos = episodes_in(run / "bags" / "demos")
    model = run / "models" / "r0" / PRETRAINED
    ticks = int(config.timeout_s * CONTROL_RATE_HZ)
    for round_ in range(1, config.rounds + 1):
        name = f"dagger_r{round_}"
        trained = out / "models" / name / PRETRAINED
        labelled = out / "bags" / f"rollouts_r{round_ - 1}"
        if not (trained / MAPPING_FILE).exists():  # written last: a training cut off runs again
            (out / "eval_heldout.jsonl").unlink(missing_ok=True)  # it scored another model
            if not (labelled / "episode_000.npz").exists():  # one file: the round's rollouts whole
                plans = config.plans("rollouts", config.dagger_episodes, round_ - 1)
                with policy_in_env(model) as (predictor, env):
                    frames = [
                        drive_policy(env, predictor, p.seed, ticks, side=detour_side(config, p.seed))[1]
                        for p in plans
                    ]
                labelled.mkdir(parents=True, exist_ok=True)
                save_frames(labelled / "episode_000.npz", frames)
            dataset = out / "datasets" / name
            shutil.rmtree(dataset, ignore_errors=True)
            rollouts = [e for r in range(round_) for e in episodes_in(out / "bags" / f"rollouts_r{r}")]
            write_dataset(dataset, demos + rollouts)
            shutil.copyfile(run / "datasets" / "r0" / "meta" / "stats.json", dataset / "meta" / "stats.json")
            shutil.rmtree(out / "models" / name, ignore_errors=True)  # a training cut off
            train(
                dataset,
                config.policy,
                out / "models" / name,
                steps=config.round_steps,
                batch_size=config.batch_size,
                seed=config.seed + TRAINING_SEED,
                extra=train_options(config),  # as the run's rounds were trained
                log=out / f"train_{name}.log",
                start=model,
            )
        model = trained
    return model


def labelled_frames(out: Path, rounds: int) -> int:
    return sum(len(e) for r in range(rounds) for e in episodes_in(out / "bags" / f"rollouts_r{r}"))


def evaluate(run: Path, out: Path, model: Path) -> list[dict]:
    config = run_config(run)
    path = out / "eval_heldout.jsonl"
    if path.exists():
        return read_summaries(path)
    seeds = [plan.seed for plan in config.plans("heldout", config.eval_episodes)]
    ticks = int(config.timeout_s * CONTROL_RATE_HZ)
    summaries = list(evaluation_summaries(model, seeds, ticks, workers=usable_cores()))
    path.write_text("".join(json.dumps(s) + "\n" for s in summaries))
    return summaries


def by_seed(summaries: list[dict]) -> dict[int, bool]:
    return {s["seed"]: bool(s["success"]) for s in summaries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("data/classic_dagger"))
    args = parser.parse_args()
    arms = {"hg": "HG-DAgger, last round", "control": "control", "r0": "round 0"}
    table = []
    for index, run in enumerate(args.runs):
        out = args.out / f"run_{index}"
        out.mkdir(parents=True, exist_ok=True)
        made_for = out / "run.txt"
        if made_for.exists() and made_for.read_text().strip() != str(run.resolve()):
            raise SystemExit(
                f"{out} holds another run's arm ({made_for.read_text().strip()}); give a new --out"
            )
        made_for.write_text(f"{run.resolve()}\n")
        config = run_config(run)
        code, theirs_code = code_version(), json.loads((run / "code.json").read_text())
        if code["fingerprint"] != theirs_code["fingerprint"]:
            print(f"{run}: made by commit {theirs_code['commit']}; classic DAgger by {code['commit']}")
        dagger = by_seed(evaluate(run, out, classic_dagger(run, out)))
        last = round_model(config.rounds)
        theirs = {
            arm: by_seed(read_summaries(run / "episodes" / f"eval_{model}.jsonl"))
            for arm, model in (("hg", last), ("control", "control"), ("r0", "r0"))
        }
        if any(len(outcomes) != len(dagger) for outcomes in theirs.values()):
            raise SystemExit(f"{run}: its held-out evaluations are not finished; finish the run first")
        corrections = json.loads((run / "datasets" / last / "meta" / "kiwi_demo_sources.json").read_text())
        n = len(dagger)
        row = {
            "run": str(run),
            "n": n,
            "classic": sum(dagger.values()) / n,
            "labelled_frames": labelled_frames(out, config.rounds),
            "correction_frames": corrections["correction_frames"],
        }
        print(f"{run}: held-out seeds {min(dagger)}..{max(dagger)}")
        print(f"  classic DAgger round {config.rounds}: {rate_text(sum(dagger.values()), n)}")
        for arm, label in arms.items():
            pairs = paired_outcomes(dagger, theirs[arm])
            p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
            row[arm] = sum(theirs[arm].values()) / len(theirs[arm])
            print(
                f"  {label}: {rate_text(sum(theirs[arm].values()), len(theirs[arm]))}; classic DAgger "
                f"+{pairs['only_first']} / -{pairs['only_second']} layouts (McNemar p = {p:.3g})"
            )
        print(
            f"  labelled frames: classic DAgger {row['labelled_frames']} (every visited state), "
            f"HG-DAgger {row['correction_frames']} (the corrections, each once)"
        )
        table.append(row)
    (args.out / "results.json").write_text(json.dumps(table, indent=2))
    if len(table) < 2:
        return
    print(f"across {len(table)} runs (strict success, %, mean +- SD; Student's paired t-test):")
    print(f"  classic DAgger {_mean_sd([r['classic'] for r in table])}")
    for arm, label in arms.items():
        test = paired_t_test([r["classic"] for r in table], [r[arm] for r in table])
        print(
            f"  {label} {_mean_sd([r[arm] for r in table])}; classic DAgger minus it "
            f"{100 * test['mean']:+.1f} points, t = {test['t']:.2f}, p = {test['p']:.3g}"
        )


def _mean_sd(values: list[float]) -> str:
    return f"{100 * statistics.fmean(values):.1f} +- {100 * statistics.stdev(values):.1f}"


if __name__ == "__main__":
    sys.exit(main())
