"""The textbook's experiment on LeKiwi, in the gymnasium env: demonstrations that detour left and
right from exactly the same start states; an MSE behaviour-cloning MLP, the same with DAgger rounds
(the expert labels every state the learner visits; whole rollouts join the data; each round trains
afresh for the same steps), a 2-mode mixture MLP (lerobot_policy_kiwi), LeRobot's Diffusion Policy,
and LeRobot's ACT run two ways: with its zero latent (LeRobot's inference) and with a latent drawn
from the prior once per episode. All trained with lerobot-train on the same data and evaluated on
the same fixed obstacle layouts. Theory: MSE averages the two detours (its lateral command at the
start is near zero, it drives at the obstacle); DAgger lowers its on-policy error but not the
averaging; a multimodal policy commits to one detour and uses both.

    .venv/bin/python benchmarks/bimodal_env.py [--out data/bimodal] [--demo-seeds 20] [--layouts 50]
        [--steps 3000] [--methods mse mixture diffusion act act_episode] [--dagger-of mse]
        [--dagger-rounds 2] [--dagger-rollouts 20] [--train-seed 1000] [--figure docs/bimodal.png]

ACT's KL weight (LeRobot's 10) is swept when named: --methods ... act_kl1 act_kl1_episode act_kl0.1
act_kl0.1_episode ... act_kl0.001 act_kl0.001_episode (weights 1, 0.1, 0.01, 0.003, 0.001). So is
the noise Diffusion's sampler starts from (diffusion: the policy node's default): --methods ...
diffusion diffusion_noise0 diffusion_noise0.5 diffusion_noise1 run its model at 0, 0.5 and 1 (LeRobot's).

Every stage is kept in --out and skipped when there (demos, models, evaluations; a training cut
off is redone), with a progress bar; results.json holds the table's numbers and the code version.
With --jobs 2 (the default) the methods run in two processes at once, one torch thread each:
LeRobot's data loader holds one core through half of every training step, so one training alone
leaves the second core mostly idle (measured: Diffusion 2.3 steps/s alone, 1.9 beside an ACT
training that itself went from 3.8 to 3.4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from kiwi_experiments.env_runs import (  # noqa: E402
    expert_episode,
    load_frames,
    policy_runs,
    read_episodes,
    record_env_demos,
    save_frames,
    start_commands,
    write_dataset,
    write_episodes,
)
from kiwi_experiments.plan import code_version  # noqa: E402
from kiwi_experiments.statistics import (  # noqa: E402
    mcnemar_exact,
    mean_interval,
    median_interval,
    paired_outcomes,
    rate_text,
    wilson_interval,
)
from kiwi_policy.train import read_loss_curve, train  # noqa: E402


@dataclass(frozen=True)
class Method:
    policy: str  # the LeRobot policy type trained
    extra: tuple[str, ...] = ()  # lerobot-train arguments beyond Kiwi's CPU defaults
    act_latent: str = "zero"
    model: str | None = None  # another method's model, run another way (ACT's latent, Diffusion's noise)
    # The scale of the noise Diffusion's sampler starts from (1: LeRobot's; None: the policy node's default).
    diffusion_noise: float | None = None


METHODS = {
    "mse": Method("kiwi_mlp", ("--policy.head=mse", "--policy.loss=mse")),  # the textbook's squared error
    "mixture": Method("kiwi_mlp", ("--policy.head=mixture", "--policy.loss=mse")),
    "diffusion": Method("diffusion"),
    "act": Method("act"),
    "act_episode": Method("act", act_latent="episode", model="act"),
}
# ACT with a lighter KL term (LeRobot's weight is 10): a bit of side in the latent costs about
# kl_weight x ln 2 of loss, against the little L1 it saves where the side is ambiguous, so the
# latent is expected to carry the side only once the weight is small.
ACT_KL_WEIGHTS = ("1", "0.1", "0.01", "0.003", "0.001")
DEFAULT_METHODS = list(METHODS)  # the sweep below runs when named
METHODS |= {f"act_kl{kl}": Method("act", (f"--policy.kl_weight={kl}",)) for kl in ACT_KL_WEIGHTS}
METHODS |= {
    f"act_kl{kl}_episode": Method("act", act_latent="episode", model=f"act_kl{kl}") for kl in ACT_KL_WEIGHTS
}
# Diffusion's model with its sampler's noise set (the node's diffusion_noise): 1 is LeRobot's draw; 0
# gives one chunk per observation, so identical start states get one detour; between, a narrower draw.
DIFFUSION_NOISES = ("0", "0.5", "1")
METHODS |= {
    f"diffusion_noise{scale}": Method("diffusion", model="diffusion", diffusion_noise=float(scale))
    for scale in DIFFUSION_NOISES
}
START_SAMPLES = 10  # policy samples per layout at the start state (each a new episode)
PROBE_LAYOUTS = 10  # layouts of the diffusion sampler probe (100 denoising steps a sample are slow)
# Minutes each unit took at 4000 steps, one process (an early run): what --jobs balances. A unit is
# what must run in one process: a model and the methods that run it, a base and its DAgger rounds.
MINUTES = {"mse": 8, "mixture": 8, "diffusion": 38, "act": 18, "act_episode": 3}
DAGGER_ROUND_MINUTES = 9
BAR_POSITION = "KIWI_BIMODAL_BAR"  # a lane's progress bars on their own terminal line
CODE = "KIWI_BIMODAL_CODE"  # the parent's code version, handed to its lanes


def interval_text(low: float, high: float, fmt: str) -> str:
    return f"[{low:{fmt}}, {high:{fmt}}]"


def sampler_probe(out: Path, name: str, model: Path, seeds: list[int], noise: float | None) -> dict:
    """A diffusion model's first lateral commands at `seeds`' starts with its own denoising steps
    and with every one of its training timesteps: a sampler too coarse for two narrow modes
    sharpens them with more steps; a model that learnt one broad mode does not."""
    config = json.loads((model / "config.json").read_text())
    full = out / "models" / f"{name}_full_sampler"
    if not full.exists():
        partial = full.with_name(full.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(model, partial)
        (partial / "config.json").write_text(
            json.dumps({**config, "num_inference_steps": config["num_train_timesteps"]}, indent=2)
        )
        partial.rename(full)
    path = out / f"start_{name}_full_sampler.json"
    if not path.exists():
        path.write_text(json.dumps(start_commands(full, seeds, START_SAMPLES, diffusion_noise=noise)))
    own = np.array(json.loads((out / f"start_{name}.json").read_text()))[: len(seeds) * START_SAMPLES]
    full_values = np.array(json.loads(path.read_text()))
    return {
        str(steps): {"abs_mean": float(np.abs(v).mean()), "between": float((np.abs(v) <= 0.05).mean())}
        for steps, v in ((config["num_inference_steps"], own), (config["num_train_timesteps"], full_values))
    }


def final_kld(log: Path) -> float | None:
    """ACT's KL term (prior against the encoder's posterior) at the last step its training logged:
    near zero, the latent carries nothing and the decoder ignores it."""
    if not log.exists():
        return None
    values = [m["kld_loss"] for m in read_loss_curve(log, log_freq=1).values() if "kld_loss" in m]
    return values[-1] if values else None


def switches_text(r: dict) -> str:
    if r.get("side_switches") is None:
        return "not measured"
    ci = "" if r["side_switches_ci"] is None else " " + interval_text(*r["side_switches_ci"], ".1f")
    return f"{r['side_switches']:.1f}{ci}"


def share_text(count: int, n: int) -> str:
    low, high = wilson_interval(count, n)
    return f"{100 * count / n:.0f} % [{100 * low:.0f}, {100 * high:.0f}]"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("data/bimodal"))
    p.add_argument("--demo-seeds", type=int, default=20, help="start states, each demonstrated both ways")
    p.add_argument("--layouts", type=int, default=50, help="evaluation layouts (seeds 5000, 5001, ...)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--train-seed", type=int, default=1000, help="another seed, another --out: the noise floor"
    )
    p.add_argument("--methods", nargs="+", choices=list(METHODS), default=DEFAULT_METHODS)
    p.add_argument(
        "--dagger-of", nargs="*", choices=("mse", "mixture"), default=["mse"], help="methods DAgger continues"
    )
    p.add_argument("--dagger-rounds", type=int, default=2)
    p.add_argument("--dagger-rollouts", type=int, default=20)
    p.add_argument("--figure", type=Path, default=None)
    p.add_argument("--jobs", type=int, default=2, help="processes running methods at once")
    p.add_argument("--lane", type=int, default=None, help=argparse.SUPPRESS)  # a --jobs child
    args = p.parse_args()
    missing = [base for base in args.dagger_of if base not in args.methods]
    if missing:
        p.error(f"--dagger-of {' '.join(missing)} continues a method not in --methods")
    # At once (files edited while it runs must not be taken for its code); a lane takes its parent's.
    code = json.loads(os.environ[CODE]) if args.lane is not None else code_version()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.lane is None:  # the parent checked and wrote run.json before starting its lanes
        same_run(out, code, args)
    seeds = list(range(5000, 5000 + args.layouts))
    timings = {}
    started = time.time()
    position = int(os.environ.get(BAR_POSITION, "0"))

    dataset = out / "dataset"
    if not (out / "demos.json").exists():  # written last: the mark of finished demonstrations
        shutil.rmtree(dataset, ignore_errors=True)
        t = time.time()
        summary = record_env_demos(dataset, list(range(1000, 1000 + args.demo_seeds)), (1, -1))
        (out / "demos.json").write_text(json.dumps(summary))
        timings["demos"] = time.time() - t
    demos = json.loads((out / "demos.json").read_text())
    if args.jobs > 1 and args.lane is None:
        run_lanes(args, code)

    results = {"code": code, "args": {k: str(v) for k, v in vars(args).items()}, "methods": {}}
    episodes = {}

    def trained(name: str, method: Method, data: Path) -> Path:
        """The model (trained now if it is not there: a cut-off training is redone)."""
        from tqdm import tqdm

        model = out / "models" / name
        pretrained = model / "checkpoints" / "last" / "pretrained_model"
        if (pretrained / "kiwi_mapping.json").exists():
            return pretrained
        shutil.rmtree(model, ignore_errors=True)
        for user in (m for m, spec in METHODS.items() if (spec.model or m) == name):
            for stale in ("eval_{}.json", "start_{}.json", "start_{}_full_sampler.json"):  # of the old model
                (out / stale.format(user)).unlink(missing_ok=True)
        shutil.rmtree(out / "models" / f"{name}_full_sampler", ignore_errors=True)
        t = time.time()
        with tqdm(total=args.steps, desc=f"train {name}", unit="step", position=position) as bar:
            train(
                data,
                method.policy,
                model,
                args.steps,
                args.batch_size,
                args.train_seed,
                list(method.extra),
                log=out / f"train_{name}.log",
                on_step=lambda step: bar.update(max(0, step - bar.n)),
            )
        timings[f"train {name}"] = time.time() - t
        return pretrained

    def stage(name: str, method: Method, data: Path) -> None:
        """Train (if not there), evaluate on the layouts (if not there), summarise."""
        from tqdm import tqdm

        model = trained(method.model or name, METHODS.get(method.model, method), data)
        evaluation = out / f"eval_{name}.json"
        if not evaluation.exists():
            t = time.time()
            runs = policy_runs(
                model, seeds, act_latent=method.act_latent, diffusion_noise=method.diffusion_noise
            )
            bar = tqdm(runs, total=len(seeds), desc=f"evaluate {name}", unit="episode", position=position)
            episodes_ = [e for e, _ in bar]
            write_episodes(evaluation, episodes_)
            timings[f"eval {name}"] = time.time() - t
        starts = out / f"start_{name}.json"
        if not starts.exists():
            starts.write_text(
                json.dumps(
                    start_commands(model, seeds, START_SAMPLES, method.act_latent, method.diffusion_noise)
                )
            )
        full_sampler = None
        if method.policy == "diffusion" and method.model is None:  # the model's own sampler
            full_sampler = sampler_probe(out, name, model, seeds[:PROBE_LAYOUTS], method.diffusion_noise)
        runs = episodes[name] = read_episodes(evaluation)
        error = [e.action_error for e in runs]
        switches = [e.side_switches for e in runs if e.side_switches is not None]
        # One value per layout (its samples averaged): the layouts are the independent draws.
        start = np.array(json.loads(starts.read_text())).reshape(len(seeds), -1)
        sides = {s: sum(e.side == s for e in runs) for s in ("left", "right", "neither")}
        passed = sides["left"] + sides["right"]
        results["methods"][name] = {
            "success": sum(e.success for e in runs),
            "collisions": sum(e.collision for e in runs),
            "n": len(runs),
            "sides": sides,
            "left_share_ci": list(wilson_interval(sides["left"], passed)) if passed else None,
            "closest_m": median_interval([e.clearance for e in runs]),
            "final_kld": final_kld(out / f"train_{method.model or name}.log"),
            "full_sampler": full_sampler,
            "start_lateral_mean": float(start.mean()),
            "start_lateral_mean_ci": mean_interval(start.mean(axis=1).tolist())[1:],
            "start_lateral_abs_mean": float(np.abs(start).mean()),
            "start_lateral_abs_mean_ci": mean_interval(np.abs(start).mean(axis=1).tolist())[1:],
            "start_lateral_sd": float(start.std()),
            # The draws' spread at one start state: zero for a deterministic policy, the detours'
            # distance for one that samples between them.
            "start_spread": float(start.std(axis=1).mean()),
            "start_spread_ci": mean_interval(start.std(axis=1).tolist())[1:],
            "side_switches": float(np.mean(switches)) if switches else None,
            "side_switches_ci": mean_interval(switches)[1:] if len(switches) > 1 else None,
            "action_error": float(np.mean(error)),
            "action_error_ci": 1.96 * float(np.std(error, ddof=1)) / np.sqrt(len(error)),
        }

    for name in args.methods:
        stage(name, METHODS[name], dataset)
    # DAgger, the expert as the oracle: the demonstrations again (the env is deterministic: the
    # same episodes) plus every rollout so far, relabelled; each round trains afresh.
    demo_seeds = list(range(1000, 1000 + args.demo_seeds))
    demonstrations = None
    for base in args.dagger_of:
        collected = None
        for round_ in range(1, args.dagger_rounds + 1):
            name = f"{base}_dagger_r{round_}"
            previous = base if round_ == 1 else f"{base}_dagger_r{round_ - 1}"
            data = out / f"dataset_{name}"
            if not data.exists():
                if collected is None:
                    if demonstrations is None:
                        from lerobot_env_kiwi.env import KiwiPickEnv

                        env = KiwiPickEnv(obstacle=True, render_mode=None)
                        demonstrations = [
                            expert_episode(env, seed, side) for seed in demo_seeds for side in (1, -1)
                        ]
                        env.close()
                    collected = list(demonstrations)
                    for r in range(1, round_):  # rollouts of earlier rounds (a resumed run)
                        collected += rollouts(out, base, r, args.dagger_rollouts)
                previous_model = out / "models" / previous / "checkpoints" / "last" / "pretrained_model"
                collected += rollouts(out, base, round_, args.dagger_rollouts, previous_model)
                write_dataset(data, collected)
            stage(name, METHODS[base], data)
    if args.lane is not None:  # a child of --jobs: its stages are made; the parent sums up
        (out / f"timings_lane{args.lane}.json").write_text(json.dumps(timings))
        return 0

    for lane in sorted(out.glob("timings_lane*.json")):
        timings |= json.loads(lane.read_text())
    timings["total (this call)"] = time.time() - started
    results["demos"] = {
        "episodes": demos["episodes"],
        "start_lateral_mean": float(np.mean(demos["start_lateral"])),
        "start_lateral_abs_mean": float(np.mean(np.abs(demos["start_lateral"]))),
    }
    success = {name: {e.seed: e.success for e in runs} for name, runs in episodes.items()}
    comparisons = [("mse", name) for name in args.methods if name != "mse"]
    comparisons += [(m.model, name) for name, m in METHODS.items() if m.model and name in args.methods]
    comparisons += [
        (base, f"{base}_dagger_r{args.dagger_rounds}") for base in args.dagger_of if args.dagger_rounds
    ]
    comparisons = [(a, b) for a, b in comparisons if a in success and b in success]
    results["paired"] = {}
    for first, second in comparisons:
        counts = paired_outcomes(success[first], success[second])
        results["paired"][f"{first} vs {second}"] = {
            **counts,
            "p": mcnemar_exact(counts["only_first"], counts["only_second"]),
        }
    collided = {name: {e.seed: e.collision for e in runs} for name, runs in episodes.items()}
    results["theory"] = theory(results, collided, args.dagger_of, args.dagger_rounds)
    results["timings_s"] = timings
    (out / "results.json").write_text(json.dumps(results, indent=2))

    print(f"code {results['code']['commit']} dirty={results['code']['dirty']}; {args.layouts} layouts")
    print(
        f"demonstrations: {demos['episodes']} episodes, start y.vel mean {results['demos']['start_lateral_mean']:+.3f}"
        f" m/s, |y.vel| {results['demos']['start_lateral_abs_mean']:.3f}"
    )
    print(
        "| method | success | collisions | left / right / neither (left share of passes) | closest approach "
        "(median, m) | start y.vel mean (m/s) | start |y.vel| mean (m/s) | start y.vel spread over draws (SD, m/s) "
        "| side switches per episode | "
        "on-policy error (MSE vs expert) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results["methods"].items():
        n, s = r["n"], r["sides"]
        share = "" if r["left_share_ci"] is None else f" ({interval_text(*r['left_share_ci'], '.0%')})"
        print(
            f"| {name} | {rate_text(r['success'], n)} | {share_text(r['collisions'], n)} | "
            f"{s['left']} / {s['right']} / {s['neither']}{share} | {r['closest_m'][0]:.3f} "
            f"{interval_text(*r['closest_m'][1:], '.3f')} | {r['start_lateral_mean']:+.3f} "
            f"{interval_text(*r['start_lateral_mean_ci'], '+.3f')} | {r['start_lateral_abs_mean']:.3f} "
            f"{interval_text(*r['start_lateral_abs_mean_ci'], '.3f')} | {r['start_spread']:.3f} "
            f"{interval_text(*r['start_spread_ci'], '.3f')} | {switches_text(r)} | "
            f"{r['action_error']:.1f} ± {r['action_error_ci']:.1f} |"
        )
    for name, r in results["methods"].items():
        if r["final_kld"] is not None:
            print(
                f"{name}: KL term of the last logged training step {r['final_kld']:.3g} (the latent's information)"
            )
        if r["full_sampler"] is not None:
            print(
                f"{name}, first lateral command on the first {min(PROBE_LAYOUTS, args.layouts)} layouts, "
                "mean of abs / share "
                f"within +-0.05 m/s: "
                + "; ".join(
                    f"{k} steps {v['abs_mean']:.3f} / {v['between']:.0%}"
                    for k, v in r["full_sampler"].items()
                )
            )
    for label, m in results["paired"].items():
        print(
            f"paired {label}: both {m['both']}, only the first {m['only_first']}, only the second "
            f"{m['only_second']}, neither {m['neither']}; McNemar p = {m['p']:.3g}"
        )
    print("\n| the theory expects | measured | agrees |")
    print("|---|---|---|")
    for row in results["theory"]:
        print(f"| {row['claim']} | {row['measured']} | {'yes' if row['agrees'] else 'no'} |")
    if args.figure:
        figure(args.figure, out, demos, episodes)
    return 0


MULTIMODAL = (
    "mixture",
    *(name for name, m in METHODS.items() if m.policy == "diffusion"),
    *(name for name, m in METHODS.items() if m.act_latent == "episode"),
)
NEAR_MEAN = 0.25  # "near zero": within a quarter of a detour's lateral command
MIN_PASSED = 10  # "uses both" needs this many episodes past the obstacle to mean anything


def averages(m: dict, detour: float) -> bool:
    """The first lateral command near zero in mean and in size: between the modes, not on one."""
    return (
        abs(m["start_lateral_mean"]) < NEAR_MEAN * detour and m["start_lateral_abs_mean"] < NEAR_MEAN * detour
    )


def theory(results: dict, collided: dict, dagger_of: list[str], rounds: int) -> list[dict]:
    """The textbook's expected observations, each with what was measured and whether it agrees, by
    the criteria written here (from issue 15's "done when"; set after the MSE and mixture results
    of an earlier run were known, before Diffusion's, ACT's and every later run's)."""
    methods, demo = results["methods"], results["demos"]
    detour = demo["start_lateral_abs_mean"]
    rows = []
    if "mse" in methods:
        m = methods["mse"]
        rows.append(
            {
                "claim": f"MSE averages the detours: its first lateral command within {NEAR_MEAN:g} of a detour's "
                f"({NEAR_MEAN * detour:.3f} m/s) of zero, in mean and in size",
                "measured": f"mean {m['start_lateral_mean']:+.3f}, mean of abs {m['start_lateral_abs_mean']:.3f}; "
                f"the demonstrations' +-{detour:.3f}",
                "agrees": averages(m, detour),
            }
        )
    for base in dagger_of:
        chain = [base] + [f"{base}_dagger_r{r}" for r in range(1, rounds + 1)]
        if rounds and all(name in methods for name in chain):
            errors = [(methods[name]["action_error"], methods[name]["action_error_ci"]) for name in chain]
            rows.append(
                {
                    "claim": f"DAgger on {base} lowers its on-policy error every round, beyond the 95 % intervals",
                    "measured": " -> ".join(f"{e:.0f} +- {ci:.0f}" for e, ci in errors),
                    "agrees": all(b + cb < a - ca for (a, ca), (b, cb) in zip(errors, errors[1:])),
                }
            )
            last = methods[chain[-1]]
            if base != "mse":
                continue  # a multimodal base has no average to fix: its last round is judged below
            rows.append(
                {
                    "claim": f"DAgger does not fix {base}'s averaging: after {rounds} rounds its first lateral "
                    f"command still within {NEAR_MEAN:g} of a detour's of zero, in mean and in size",
                    "measured": f"mean {last['start_lateral_mean']:+.3f}, mean of abs {last['start_lateral_abs_mean']:.3f}",
                    "agrees": averages(last, detour),
                }
            )
    multimodal = [
        *MULTIMODAL,
        *(f"{base}_dagger_r{rounds}" for base in dagger_of if base != "mse" and rounds),
    ]
    for name in multimodal:
        if name not in methods:
            continue
        m, sides = methods[name], methods[name]["sides"]
        passed = sides["left"] + sides["right"]
        rows.append(
            {
                "claim": f"{name} commits to a detour: its first lateral command's size within {NEAR_MEAN:g} "
                f"of a detour's ({detour:.3f} m/s)",
                "measured": f"mean of abs {m['start_lateral_abs_mean']:.3f}",
                "agrees": m["start_lateral_abs_mean"] > (1 - NEAR_MEAN) * detour,
            }
        )
        rows.append(
            {
                "claim": f"{name} uses both detours: each side at least a quarter of the episodes that pass "
                f"(at least {MIN_PASSED} pass)",
                "measured": f"left {sides['left']}, right {sides['right']}, neither {sides['neither']}",
                "agrees": passed >= MIN_PASSED and min(sides["left"], sides["right"]) >= 0.25 * passed,
            }
        )
        if "mse" in methods:
            counts = paired_outcomes(collided[name], collided["mse"])
            p = mcnemar_exact(counts["only_first"], counts["only_second"])
            rows.append(
                {
                    "claim": f"{name} collides less than MSE (paired on the layouts, p < 0.05)",
                    "measured": f"{m['collisions']} against {methods['mse']['collisions']} of {m['n']}; "
                    f"McNemar p = {p:.2g}",
                    "agrees": m["collisions"] < methods["mse"]["collisions"] and p < 0.05,
                }
            )
    return rows


def lanes(methods: list[str], dagger_of: list[str], rounds: int, jobs: int) -> list[tuple[list, list]]:
    """The methods split into at most `jobs` lanes of about equal minutes, longest unit first; each
    lane is (methods, DAgger bases). A model stays in one lane with every method that runs it (ACT
    both ways), a base with its DAgger rounds: two processes never train the same model."""
    units: dict[str, list[str]] = {}
    for name in methods:
        units.setdefault(METHODS[name].model or name, []).append(name)

    def minutes(unit: str) -> float:
        dagger = rounds * DAGGER_ROUND_MINUTES if unit in dagger_of else 0
        return sum(MINUTES.get(m, 10) for m in units[unit]) + dagger

    loads = [[0.0, [], []] for _ in range(min(jobs, len(units)))]
    for unit in sorted(units, key=minutes, reverse=True):
        lane = min(loads, key=lambda entry: entry[0])
        lane[0] += minutes(unit)
        lane[1] += units[unit]
        lane[2] += [unit] if unit in dagger_of else []
    return [(names, bases) for _, names, bases in loads]


def run_lanes(args, code: dict) -> None:
    """This run's methods in `--jobs` child processes at once, one torch thread each; exits if
    one fails (its stages done so far are kept: run again to resume)."""
    children = []
    for k, (names, bases) in enumerate(lanes(args.methods, args.dagger_of, args.dagger_rounds, args.jobs)):
        command = [sys.executable, __file__, *sys.argv[1:], "--jobs", "1", "--lane", str(k)]
        command += ["--methods", *names, "--dagger-of", *bases]  # the last of a repeated option wins
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", BAR_POSITION: str(k)}
        env[CODE] = json.dumps(code)
        children.append((names, subprocess.Popen(command, env=env)))
    failed = [names for names, child in children if child.wait() != 0]
    if failed:
        sys.exit(
            f"bimodal_env: the lane of {', '.join(failed[0])} failed (its output is above); run again to resume"
        )


def same_run(out: Path, code: dict, args) -> None:
    """Refuse to resume a run folder made by other code or with other settings (their stages would
    mix into one table); methods and DAgger rounds may be added."""
    kept = {k: str(getattr(args, k)) for k in ("demo_seeds", "layouts", "steps", "batch_size", "train_seed")}
    kept |= {"dagger_rollouts": str(args.dagger_rollouts), "fingerprint": code["fingerprint"]}
    path = out / "run.json"
    if path.exists():
        before = json.loads(path.read_text())
        changed = {k: (before.get(k), v) for k, v in kept.items() if before.get(k) != v}
        if changed:
            text = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
            sys.exit(f"bimodal_env: {out} holds a run with other code or settings ({text}); give a new --out")
    path.write_text(json.dumps(kept, indent=2))


def rollouts(out: Path, base: str, round_: int, count: int, model: Path | None = None) -> list:
    """Round `round_`'s DAgger rollouts of `base` (seeds 2000 + 100 r + k), labelled by the expert;
    made with `model` and kept in out/rollouts_<base>_r<r>.npz (the MSE's in rollouts_r<r>.npz,
    as earlier runs named them), or read from there."""
    path = out / (f"rollouts_r{round_}.npz" if base == "mse" else f"rollouts_{base}_r{round_}.npz")
    if not path.exists():
        seeds = [2000 + 100 * round_ + k for k in range(count)]
        save_frames(path, [frames for _, frames in policy_runs(model, seeds)])
    return load_frames(path)[0]


def figure(path: Path, out: Path, demos: dict, episodes: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    rows = -(-(1 + len(episodes)) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
    axes = axes.ravel()
    bins = np.linspace(-0.22, 0.22, 45)
    axes[0].hist(demos["start_lateral"], bins=bins, alpha=0.5, label="demonstrations", density=True)
    for name in episodes:
        start = json.loads((out / f"start_{name}.json").read_text())
        axes[0].hist(start, bins=bins, histtype="step", linewidth=2, label=name, density=True)
    axes[0].set(title="lateral command at the start", xlabel="y.vel (m/s)", ylabel="density")
    axes[0].legend(fontsize=7)
    for ax, (name, runs) in zip(axes[1:], episodes.items()):
        for e in runs:
            xy = np.array(e.path)
            ax.plot(xy[:, 0], xy[:, 1], color="tab:green" if e.success else "tab:red", alpha=0.4, lw=1)
        ax.set(title=f"{name}: paths (green: lifted)", xlabel="x (m)", ylabel="y (m)", aspect="equal")
        ax.set(xlim=(-0.1, 1.2), ylim=(-0.45, 0.45))  # every panel the same: the layouts span this
    for ax in axes[1 + len(episodes) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
