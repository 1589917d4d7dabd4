"""The `kiwi demo` report: a Markdown page with the tables, two plots, and how to reproduce it.
Every number comes from the episode summaries of the run in the same folder."""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from kiwi_description import constants as c

from .plan import (
    IMAGE_SIZE,
    POLICY_NAMES,
    PRETRAINED,
    QUICK,
    diagnoses,
    evaluations,
    round_model,
    sampler_scale,
    train_options,
    wide_evaluations,
    write_atomically,
)
from .statistics import mcnemar_exact, paired_outcomes, rate_text, wilson_interval


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _num(x, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def eval_label(demo, name: str) -> str:
    policy = POLICY_NAMES[demo.config.policy]
    if name == "eval_r0":
        return f"{policy}, round 0 (demonstrations only)"
    if name == "eval_r0_seed2":
        return f"{policy}, round 0, another training seed (noise floor)"
    extra = demo.config.rounds * demo.config.round_steps
    if name == "eval_control":
        return f"control: round 0 + {extra} steps on the demonstrations alone"
    if name == "eval_bc":
        return f"effort-matched BC: round 0 + {extra} steps on the demonstrations and as many expert frames as the corrections"
    return f"{policy} + HG-DAgger, round {name.removeprefix('eval_hg_r')}"


def successes(results: dict, name: str) -> dict[int, bool]:
    return {e["seed"]: e["success"] for e in results.get(name, [])}


def paired_text(results: dict, name: str, against: str) -> str:
    """`name`'s successes against `against`'s on the same layouts: won / lost, McNemar's exact p."""
    pairs = paired_outcomes(successes(results, name), successes(results, against))
    p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
    return f"+{pairs['only_first']} / -{pairs['only_second']}, p = {p:.3g}"


def eval_table(demo, rows: dict, results: dict) -> list[str]:
    lines = [
        "| model | training episodes (frames) | steps | strict success [95 % CI] | lifted (loose) | "
        "vs round 0 (layouts won / lost, McNemar) | collisions: episodes (per episode) | time to success (s) | "
        "action error: base (m/s) | arm (deg) | passed left / right / not | video (development layouts) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, model in evaluations(demo.config):
        row = rows.get(name)
        if not row or not row.get("episodes"):
            continue
        training = demo.trainings[model]
        sources = _sources(demo, training.dataset)
        lines.append(
            f"| {eval_label(demo, name)} | {sources.get('episodes', '?')} ({sources.get('frames', '?')}) | "
            f"{demo.total_steps(model)} | {rate_text(round(row['success'] * row['episodes']), row['episodes'])} | "
            f"{_pct(row['lifted'])} | "
            f"{'–' if model == 'r0' else paired_text(results, name, 'eval_r0')} | {row['collision_episodes']} / "
            f"{row['episodes']} ({row['collisions_per_episode']:.2f}) | {_num(row['time_to_success'], '.1f')} | "
            f"{_num(row['base_error'], '.3f')} | {_num(row['arm_error_deg'], '.1f')} | "
            f"{row['left']} / {row['right']} / {row['not_passed']} | {_video_link(demo, model)} |"
        )
    return lines


def _video_link(demo, model: str) -> str:
    video = Path("videos") / f"dev_{model}.mp4"
    return f"[mp4]({video.as_posix()})" if (demo.out / "report" / video).exists() else "–"


def comparisons(demo, results: dict) -> list[str]:
    """The paired tests the run is for: each round against the one before and against round 0, the
    last against the baselines, and round 0 against its twin from another training seed."""
    rounds = demo.config.rounds
    pairs = [(f"eval_{round_model(r)}", f"eval_{round_model(r - 1)}") for r in range(1, rounds + 1)]
    if rounds:
        last = f"eval_{round_model(rounds)}"
        pairs += [(last, "eval_r0"), (last, "eval_control"), (last, "eval_bc")]
    pairs.append(("eval_r0_seed2", "eval_r0"))
    lines = ["| this | against | layouts won / lost, McNemar p |", "|---|---|---|"]
    for name, against in dict.fromkeys(pairs):  # with one round, its predecessor is round 0
        if results.get(name) and results.get(against):
            lines.append(
                f"| {eval_label(demo, name)} | {eval_label(demo, against)} | {paired_text(results, name, against)} |"
            )
    return lines


def rollout_table(demo, rows: dict) -> list[str]:
    lines = [
        "| collected with | rollouts | strict success | expert take-overs / episode | "
        "share of time the expert drove | take-overs by reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in range(demo.config.rounds + 1):
        row = rows.get(f"rollouts_r{r}")
        if not row or not row.get("episodes"):
            continue
        last = " (the last model: its take-overs, not trained on)" if r == demo.config.rounds else ""
        lines.append(
            f"| round {r}{last} | {row['episodes']} | {_pct(row['success'])} | {row['interventions_per_episode']:.2f} | "
            f"{_pct(row['intervention_time_fraction'])} | {_reasons(row.get('takeover_reasons', {}))} |"
        )
    return lines


def observation_text(observation: str) -> str:
    """What a run's policies saw (`DemoConfig.observation`; the expert and the gate read the sim's
    ground truth either way)."""
    state = "`observation.state` (LeRobot's LeKiwi: arm joints, base velocity)"
    if observation == "images":
        height, width = IMAGE_SIZE
        return (
            f"Observation: {state} and the front and wrist cameras at {height}x{width} "
            "(`observation.images.*`), what a real LeKiwi has: nothing from the sim's ground truth."
        )
    return (
        f"Observation: {state} and `observation.environment_state` (cube and obstacle relative to the "
        "robot from the sim's ground truth, standing in for a detector; no images)."
    )


def collection_text(cfg) -> str:
    """Where the demonstrations and rollouts ran."""
    if cfg.backend == "env":
        return (
            "Demonstrations and HG-DAgger rollouts ran in the gymnasium env (`--backend env`: the same "
            "expert, gate, layouts and driver limits in one process; the expert drives from the tick the "
            "gate decides, with no mux blend, no DDS and no process timing)"
        )
    return (
        "Demonstrations and HG-DAgger rollouts ran through the real nodes (driver on MuJoCo, expert, mux, "
        f"recorder, policy node) over DDS, cameras off, the sim at {cfg.sim_speed:g}x real time"
    )


def _reasons(counts: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "–"


def _sources(demo, dataset: str) -> dict:
    return demo.sources(dataset) or {}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_success(demo, rows: dict, path: Path) -> None:
    """Success per round with Wilson intervals; the control and the second pass of round 0 beside."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    rounds = demo.config.rounds

    def point(name: str, x: float, style: str, label: str) -> None:
        row = rows.get(name, {})
        if not row.get("episodes"):
            return
        n = row["episodes"]
        k = round(row["success"] * n)
        low, high = wilson_interval(k, n)
        y = 100 * k / n
        ax.errorbar([x], [y], yerr=[[y - 100 * low], [100 * high - y]], fmt=style, capsize=3, label=label)

    xs = [r for r in range(rounds + 1) if rows.get(f"eval_{round_model(r)}", {}).get("episodes")]
    ys = [100 * rows[f"eval_{round_model(r)}"]["success"] for r in xs]
    ax.plot(xs, ys, color="tab:blue", lw=1)
    for r in xs:
        point(f"eval_{round_model(r)}", r, "o", "HG-DAgger" if r == xs[0] else None)
    point("eval_r0_seed2", 0.1, "x", "round 0, another training seed")
    point("eval_control", rounds + 0.1, "s", "control: same steps, no corrections")
    point("eval_bc", rounds + 0.2, "D", "effort-matched BC: as many expert frames")
    ax.set_xlabel("HG-DAgger round (0: demonstrations only)")
    ax.set_ylabel(f"strict success, {demo.config.eval_episodes} held-out layouts (%), 95 % CI")
    ax.set_ylim(-5, 105)
    ax.set_xticks(range(rounds + 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_trajectories(demo, results: dict, path: Path) -> None:
    """Top-down paths relative to the obstacle (at the origin) on the development layouts, one
    panel per source."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()

    panels = [("expert demonstrations", results.get("demos", []))]
    for name, model in diagnoses(demo.config):
        if results.get(name):
            panels.append((eval_label(demo, f"eval_{model}").replace(", ", "\n", 1), results[name]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), sharex=True, sharey=True)
    for ax, (title, summaries) in zip(axes, panels):
        ax.add_patch(
            Rectangle(
                (-c.OBSTACLE_SIZE[0] / 2, -c.OBSTACLE_SIZE[1] / 2),
                *c.OBSTACLE_SIZE[:2],
                color="0.6",
                label="obstacle",
            )
        )
        for s in summaries:
            if not s["obstacle"]:
                continue
            ox, oy = s["obstacle"]
            xs = [p[0] - ox for p in s["trajectory"]]
            ys = [p[1] - oy for p in s["trajectory"]]
            color = "tab:green" if s["success"] else "tab:red"
            ax.plot(xs, ys, color=color, alpha=0.7, lw=1)
            ax.plot(xs[-1:], ys[-1:], "o", color=color, ms=3)
        ax.set_title(title, fontsize=8)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.set_xlabel("x from the obstacle (m)")
    axes[0].set_ylabel("y from the obstacle (m); green: success, red: not")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parameters(rule) -> dict:
    """The expert's and the gate's (`rule`) settings, for the record (results.json)."""
    from dataclasses import asdict

    from kiwi_teleop import expert

    names = (
        "LOOKAHEAD",
        "CORNER_RADIUS",
        "MAX_SPEED",
        "GRASP_X",
        "REACH_PAST",
        "REACH_SLACK",
        "DETOUR_OFFSET",
        "AIMED",
        "ON_FACES",
    )
    return {"gate": asdict(rule), "expert": {name: getattr(expert, name) for name in names}}


def header_section(demo) -> list[str]:
    """Who wrote the report, on what, with which code; the task and what the policy read."""
    cfg = demo.config
    total = sum(demo.timings.values())
    return [
        "# Kiwi demo report",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `kiwi {shlex.join(demo.argv)}`"
        f"{' (the --quick settings: too small to mean anything, a smoke test)' if cfg == QUICK else ''}; "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), models trained on "
        f"{training_device(cfg)}; "
        f"{total / 60:.1f} min of recording, conversion, training and evaluation. Code: commit "
        f"{demo.code['commit'] or 'unknown'}{' with local changes' if demo.code['dirty'] else ''}, "
        f"sources {demo.code['fingerprint']} (`code.json`; a run is resumed only by the same code).",
        "",
        "Task: drive to the cube and lift it; a box stands between robot and cube on every evaluation and "
        f"rollout layout. {observation_text(cfg.observation)} Action: LeRobot's LeKiwi action (arm targets, base twist) "
        "at 30 Hz. "
        f"{collection_text(cfg)}; datasets were written by LeRobot's writer, policies ({POLICY_NAMES[cfg.policy]}) "
        f"trained by `lerobot-train` (batch {cfg.batch_size}); evaluations ran in the gymnasium env "
        "(`lerobot_env_kiwi`: the same scene, task and driver limits, the policy loaded as the policy node "
        "loads it, one control tick per step, so as fast as the policy computes and deterministic)"
        f"{sampler_text(cfg)}.",
        "",
    ]


def sampler_text(cfg) -> str:
    """Where Diffusion's sampler started, in rollouts and evaluations, when not where LeRobot's does."""
    scale = sampler_scale(cfg)
    if scale == 1.0:
        return ""
    how = "Kiwi's default for a DDIM Diffusion" if cfg.diffusion_noise is None else "`--diffusion-noise`"
    return f"; Diffusion's sampler started from its Gaussian noise scaled by {scale:g} ({how}; 1 is LeRobot's draw)"


def _seeds(cfg, kind: str, count: int) -> list[int]:
    return [p.seed for p in cfg.plans(kind, count)]


def evaluation_section(demo, results: dict, rows: dict) -> list[str]:
    cfg = demo.config
    seeds = _seeds(cfg, "heldout", cfg.eval_episodes)
    extra = rows.get("extra_demos", {})
    return [
        "## Evaluation on the held-out layouts",
        "",
        f"Each model alone on the same {cfg.eval_episodes} held-out obstacle layouts (seeds {seeds[0]}.."
        f"{seeds[-1]}: used for nothing but these figures, the same in every run), {cfg.timeout_s:g} s of "
        f"sim time each; the expert only labels. Round 0 trained {cfg.steps} steps from scratch on the "
        f"demonstrations; each HG-DAgger round continues the last model for {cfg.round_steps} steps (a new "
        "optimizer and learning-rate schedule each round) on the demonstrations plus every correction so far "
        "(normalization statistics kept from round 0). The baselines continue round 0 on the same schedule: "
        "the control on the demonstrations alone; the effort-matched BC arm on them plus "
        f"{extra.get('episodes', 0)} extra expert demonstrations, as many frames as the corrections of the "
        "last round's dataset (each counted once). Round 0 is trained a second time with another seed (the "
        "noise floor: two models made alike). "
        "Strict success: the cube between the jaws (touching both), its centre 5 cm above its resting "
        "height, for 1 s of sim time without a break; lifted (loose, the earlier measure): the cube's centre "
        "above 4.5 cm at any tick. Intervals: Wilson 95 %. Collision: any part of the robot "
        "touching the obstacle, from the sim's contacts. Action error: the policy's command against the "
        "expert's for the same state, per tick (base: twist difference, m/s; arm: the largest joint target "
        "difference, deg).",
        "",
        *eval_table(demo, rows, results),
        "",
        "Paired on the layouts (McNemar's exact test on the layouts where exactly one of the two succeeded):",
        "",
        *comparisons(demo, results),
        "",
    ]


def wide_section(demo, rows: dict) -> list[str]:
    """The diagnosed models on the wider task's layouts: no target, the next step's baseline."""
    from kiwi_common import task

    cfg = demo.config
    seeds = _seeds(cfg, "wide", cfg.wide_episodes)
    lines = [
        "## The wider task (a baseline, no target)",
        "",
        f"The same models on {cfg.wide_episodes} layouts of a wider distribution than the one taught (seeds "
        f"{seeds[0]}..{seeds[-1]}, `kiwi_common.task.sample_wide_layout`): the cube "
        f"{task.WIDE_DISTANCE[0]:g}-{task.WIDE_DISTANCE[1]:g} m away at a bearing within "
        f"±{math.degrees(task.WIDE_BEARING):.0f}°, the robot's start heading within "
        f"±{math.degrees(task.WIDE_HEADING):.0f}°, the obstacle on half the layouts where driving straight at "
        "the cube hits it. The expert succeeds on such layouts; the policies were taught on the narrow one.",
        "",
        "| model | strict success [95 % CI] | lifted (loose) | collisions: episodes |",
        "|---|---|---|---|",
    ]
    for name, model in wide_evaluations(cfg):
        row = rows.get(name)
        if row and row.get("episodes"):
            n = row["episodes"]
            lines.append(
                f"| {eval_label(demo, f'eval_{model}')} | {rate_text(round(row['success'] * n), n)} | "
                f"{_pct(row['lifted'])} | {row['collision_episodes']} / {n} |"
            )
    return [*lines, ""]


def collection_section(demo, rows: dict) -> list[str]:
    cfg = demo.config
    rule = cfg.gate_rule()
    return [
        "## HG-DAgger data collection",
        "",
        f"Per round, {cfg.dagger_episodes} rollouts of the latest model on their own obstacle layouts. The expert "
        f"takes over{' through the mux' if cfg.backend == 'ros' else ''} when the state the policy drives "
        "into is unsafe or heads for failure and "
        "hands back once it is safe again; only the take-over segments join the data (`intervention` = 1; "
        f"segments at most 5 frames apart merged, shorter than the policy's chunk dropped, each written "
        f"{cfg.correction_weight} times).",
        "",
        *rollout_table(demo, rows),
        "",
        f"Gating rule (`kiwi_teleop/gating.py`, expert parameters `gate_*`): take over at once on contact with the "
        f"obstacle, the chassis within {rule.clearance * 100:g} cm of it now or after {rule.horizon_s:g} s of the "
        f"policy's twist, the base {rule.stray * 100:g} cm off the expert's path (on the side the policy is on), "
        f"{f'held for {rule.patience_s:g} s, ' if rule.patience_s else ''}"
        f"the base past the grasp stand out of the arm's reach (overshot) or "
        f"the jaws shut on nothing at the grasp, "
        + (
            f"the cube off the floor below the hold height and not rising for {rule.lift_stall_s:g} s, "
            if rule.lift_stall_s > 0
            else ""
        )
        + f"or {rule.stall_s:g} s without progress; a policy without fresh "
        f"commands is not judged; hand back once safe, after at least {rule.min_control_s:g} s.",
        "",
    ]


def demonstrations_section(demo, rows: dict) -> list[str]:
    cfg, demos = demo.config, rows.get("demos", {})
    seeds = _seeds(cfg, "demos", cfg.demos)
    return [
        "## Expert demonstrations",
        "",
        f"{demos.get('episodes', 0)} episodes (seeds {seeds[0]}..{seeds[-1]}, the obstacle on "
        f"every one; detour side: {cfg.detour}), {_pct(demos.get('success'))} strict success, mean "
        f"{_num(demos.get('time_to_success'), '.1f')} s; detours left / right: {demos.get('left', 0)} / "
        f"{demos.get('right', 0)}.",
        "",
        "## Plots",
        "",
        "![success against round](success_vs_round.png)",
        "",
        f"![top-down paths relative to the obstacle on the {cfg.dev_episodes} development layouts]"
        "(trajectories.png)",
        "",
    ]


def training_device(cfg) -> str:
    """Where lerobot-train ran: the CPU, unless the run's options after `--` said otherwise."""
    from kiwi_policy.train import option_values

    device = option_values(train_options(cfg)).get("--policy.device", "cpu")
    return "the CPU" if device == "cpu" else device


def training_commands(demo) -> list[str]:
    """The `lerobot-train` command of every model of the run, as it ran."""
    from kiwi_policy.train import thread_settings, train_command

    cfg = demo.config
    prefix = "".join(f"{k}={v} " for k, v in thread_settings().items())
    return [
        f"{prefix}lerobot-train "
        + shlex.join(
            train_command(
                demo.out / "datasets" / t.dataset,
                cfg.policy,
                demo.out / "models" / t.name,
                t.steps,
                cfg.batch_size,
                cfg.seed + t.seed,
                extra=train_options(cfg),
                start=None if t.start is None else demo.out / "models" / t.start / PRETRAINED,
            )[3:]
        )
        for t in demo.trainings.values()
    ]


def reproduce_section(demo) -> list[str]:
    cfg = demo.config
    rollout_seeds = {  # the last round's model drives a batch too: its take-overs, not trained on
        r: [p.seed for p in cfg.plans("rollouts", cfg.dagger_episodes, r)]
        for r in range(cfg.rounds + 1 if cfg.rounds else 0)
    }
    return [
        "## Reproduce",
        "",
        "```bash",
        f"kiwi {shlex.join(demo.argv)}",
        "```",
        "",
        f"Settings: `{json.dumps(cfg.__dict__)}`. Seeds: layouts of the demonstrations "
        f"{_seeds(cfg, 'demos', cfg.demos)}, of the held-out evaluation "
        f"{_seeds(cfg, 'heldout', cfg.eval_episodes)}, of the development layouts "
        f"{_seeds(cfg, 'dev', cfg.dev_episodes)}, of the wider task {_seeds(cfg, 'wide', cfg.wide_episodes)}, "
        f"of the DAgger rollouts per round {rollout_seeds}, of the "
        f"extra demonstrations from {_seeds(cfg, 'extra_demos', 1)[0]} on; training seeds {cfg.seed + 1000} ({cfg.seed + 1001} "
        "for the noise floor's twin). Training commands (the datasets and models are in this run's folder):",
        "",
        "```bash",
        *training_commands(demo),
        "```",
        "",
        "## Wall time per stage (s)",
        "",
        "| stage | s |",
        "|---|---|",
        *(f"| {k} | {v:.0f} |" for k, v in demo.timings.items()),
        "",
        f"Python {sys.version.split()[0]}.",
    ]


def write_results(demo, results: dict, rows: dict, path: Path) -> None:
    """The machine-readable results: settings, code, parameters, per-model rows and per-layout outcomes."""
    cfg = demo.config
    results_json = {
        "config": cfg.__dict__,
        "code": demo.code,
        "parameters": parameters(demo.config.gate_rule()),
        "rows": rows,
        "successes": {name: successes(results, name) for name, _ in evaluations(cfg)},
        "development_successes": {name: successes(results, name) for name, _ in diagnoses(cfg)},
        "wide_successes": {name: successes(results, name) for name, _ in wide_evaluations(cfg)},
        "timings_s": demo.timings,
    }
    write_atomically(path, json.dumps(results_json, indent=2))


def write_report(demo, results: dict, rows: dict) -> Path:
    """The run's report folder: README.md (its sections below), the plots and results.json, written
    last and whole: a repetition of `kiwi study` counts as done when it exists."""
    report = demo.out / "report"
    report.mkdir(exist_ok=True)
    plot_success(demo, rows, report / "success_vs_round.png")
    plot_trajectories(demo, results, report / "trajectories.png")
    lines = [
        *header_section(demo),
        *evaluation_section(demo, results, rows),
        *wide_section(demo, rows),
        *collection_section(demo, rows),
        *demonstrations_section(demo, rows),
        *reproduce_section(demo),
    ]
    path = report / "README.md"
    path.write_text("\n".join(lines) + "\n")
    write_results(demo, results, rows, report / "results.json")
    return path
