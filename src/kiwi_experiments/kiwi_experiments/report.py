"""The `kiwi demo` report: a Markdown page with the tables, two plots, and how to reproduce it.
Every number comes from the episode summaries of the run in the same folder."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from kiwi_description import constants as c
from kiwi_teleop.gating import GateRule

from .demo import QUICK, dataset_name
from .statistics import mcnemar_exact, paired_outcomes, rate_text


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _num(x, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def paired_against_round0(results: dict, method, round_: int) -> str:
    """This round's successes against round 0's on the same layouts: gained / lost, McNemar's p."""
    if round_ == 0:
        return "–"
    first, now = (
        {e["seed"]: e["success"] for e in results.get(f"eval_{method.key}_r{r}", [])} for r in (0, round_)
    )
    pairs = paired_outcomes(now, first)
    return f"+{pairs['only_first']} / -{pairs['only_second']}, p = {mcnemar_exact(pairs['only_first'], pairs['only_second']):.3f}"


def eval_table(demo, rows: dict, results: dict) -> list[str]:
    lines = [
        "| method | round | training episodes (frames) | success [95 % CI] | vs round 0 (layouts won / lost, McNemar) | "
        "collisions: episodes (per episode) | time to lift (s) | action error: base (m/s) | arm (deg) | "
        "gate fires / episode | passed left / right / not |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in demo.methods:
        for r in range(demo.config.rounds + 1):
            row = rows.get(f"eval_{method.key}_r{r}")
            if not row or not row.get("episodes"):
                continue
            sources = _sources(demo, method, r)
            lines.append(
                f"| {method.label} | {r} | {sources.get('episodes', '?')} ({sources.get('frames', '?')}) | "
                f"{rate_text(round(row['success'] * row['episodes']), row['episodes'])} | "
                f"{paired_against_round0(results, method, r)} | {row['collision_episodes']} / {row['episodes']} "
                f"({row['collisions_per_episode']:.2f}) | {_num(row['time_to_success'], '.1f')} | "
                f"{_num(row['base_error'], '.3f')} | {_num(row['arm_error_deg'], '.1f')} | "
                f"{row['gate_fires_per_episode']:.2f} | {row['left']} / {row['right']} / {row['not_passed']} |"
            )
    return lines


def rollout_table(demo, rows: dict) -> list[str]:
    lines = [
        "| method | collected with round | rollouts | lifted | expert take-overs / episode | "
        "share of time the expert drove | gate fires / episode | take-overs by reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in demo.methods:
        for r in range(demo.config.rounds):
            row = rows.get(f"rollouts_{method.key}_r{r}")
            if not row or not row.get("episodes"):
                continue
            takeovers = (
                f"{row['interventions_per_episode']:.2f}" if method.takeover == "gate" else "– (labels only)"
            )
            lines.append(
                f"| {method.label} | {r} | {row['episodes']} | {_pct(row['success'])} | {takeovers} | "
                f"{_pct(row['intervention_time_fraction'])} | {row['gate_fires_per_episode']:.2f} | "
                f"{_reasons(row.get('takeover_reasons', {}))} |"
            )
    return lines


def _reasons(counts: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "–"


def _sources(demo, method, round_: int) -> dict:
    path = demo.out / "datasets" / dataset_name(method, round_) / "meta" / "kiwi_demo_sources.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def plot_success(demo, rows: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for method in demo.methods:
        rounds = [
            r
            for r in range(demo.config.rounds + 1)
            if rows.get(f"eval_{method.key}_r{r}", {}).get("episodes")
        ]
        ax.plot(
            rounds,
            [100 * rows[f"eval_{method.key}_r{r}"]["success"] for r in rounds],
            marker="o",
            label=method.label,
        )
    ax.set_xlabel("DAgger round (0: demonstrations only)")
    ax.set_ylabel(f"success over {demo.config.eval_episodes} layouts (%)")
    ax.set_ylim(-5, 105)
    ax.set_xticks(range(demo.config.rounds + 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_trajectories(demo, results: dict, path: Path) -> None:
    """Top-down paths relative to the obstacle (at the origin), one panel per source."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()

    last = demo.config.rounds
    panels = [("expert demonstrations", results.get("demos", []))]
    for method in demo.methods:
        for r in sorted({0, last}):
            panels.append(
                (f"{method.label}\nround {r} (evaluation)", results.get(f"eval_{method.key}_r{r}", []))
            )
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
    axes[0].set_ylabel("y from the obstacle (m); green: lifted, red: not")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(demo, results: dict, rows: dict) -> Path:
    from kiwi_policy.train import train_command

    report = demo.out / "report"
    report.mkdir(exist_ok=True)
    plot_success(demo, rows, report / "success_vs_round.png")
    plot_trajectories(demo, results, report / "trajectories.png")
    (report / "results.json").write_text(
        json.dumps({"config": demo.config.__dict__, "rows": rows, "timings_s": demo.timings}, indent=2)
    )
    cfg, rule = demo.config, GateRule()
    demos = rows.get("demos", {})
    plans = {
        kind: [p.seed for p in cfg.plans(kind, n)]
        for kind, n in (("demos", cfg.demos), ("eval", cfg.eval_episodes))
    }
    rollout_seeds = {
        r: [p.seed for p in cfg.plans("rollouts", cfg.dagger_episodes, r)] for r in range(cfg.rounds)
    }
    total = sum(demo.timings.values())
    lines = [
        "# Kiwi demo report",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `kiwi {' '.join(demo.argv)}`"
        f"{' (the --quick settings: too small to mean anything, a smoke test)' if cfg == QUICK else ''}; "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), no GPU used; "
        f"{total / 60:.1f} min of recording, conversion, training and evaluation. Code: commit "
        f"{demo.code['commit'] or 'unknown'}{' with local changes' if demo.code['dirty'] else ''}, "
        f"sources {demo.code['fingerprint']} (`code.json`; a run is resumed only by the same code).",
        "",
        "Task: drive to the cube and lift it; in the evaluation a box stands between robot and cube on every "
        "layout. Observation: `observation.state` (LeRobot's LeKiwi: arm joints, base velocity) and "
        "`observation.environment_state` (cube and obstacle relative to the robot from the sim's ground truth, "
        "standing in for a detector; no images, so training fits a 2-core CPU). Action: LeRobot's LeKiwi action "
        "(arm targets, base twist) at 30 Hz. All episodes ran through the real nodes (driver on MuJoCo, expert, "
        "mux, recorder, policy node) over DDS; datasets were written by LeRobot's writer, policies trained by "
        f"`lerobot-train` ({cfg.steps} steps, batch {cfg.batch_size}) and run by the policy node.",
        "",
        "## Evaluation",
        "",
        f"Each policy alone on {cfg.eval_episodes} fresh obstacle layouts (seeds {plans['eval'][0]}..{plans['eval'][-1]}), "
        f"{cfg.timeout_s:g} s of sim time each; the expert only labels. Success: the cube's centre above "
        "4.5 cm. Collision: any part of the robot (chassis, wheels, arm, gripper) touching the obstacle, from the sim's contacts; the chassis' closest approach is in the episode summaries. Action error: the policy's "
        "command against the expert's for the same state, per tick (base: twist difference with the turn rate "
        "times the chassis radius, m/s; arm: the largest joint target difference, deg). Gate fires: how often "
        "the expert would have taken over (the HG-DAgger rule below). Success intervals: Wilson 95 %; a later "
        "round against round 0 on the same layouts: layouts it won and lost, and McNemar's exact p.",
        "",
        *eval_table(demo, rows, results),
        "",
        "## DAgger data collection",
        "",
        f"Per round and method, {cfg.dagger_episodes} rollouts of the latest policy. HG-DAgger (chunked policy): the "
        "expert takes over through the mux when the state the policy drives into is unsafe or heads for failure "
        "and hands back once it is safe again; only the intervention segments join the data (`intervention` = 1). "
        "DAgger with the scripted oracle (BC): the policy drives every rollout, the expert's command at each "
        "visited state is the label, and whole rollouts join the data.",
        "",
        *rollout_table(demo, rows),
        "",
        f"Gating rule (`kiwi_teleop/gating.py`, expert parameters `gate_*`): take over at once on contact with the "
        f"obstacle, the chassis within {rule.clearance * 100:g} cm of it now or after {rule.horizon_s:g} s of the "
        f"policy's twist, the base {rule.stray * 100:g} cm off the expert's path (on the side the policy is on), "
        f"the jaws shut on nothing at the grasp, or {rule.stall_s:g} s without progress; a policy without fresh "
        f"commands is not judged; hand back once safe, after at least {rule.min_control_s:g} s.",
        "",
        "## Expert demonstrations",
        "",
        f"{demos.get('episodes', 0)} episodes (seeds {plans['demos'][0]}..{plans['demos'][-1]}, two in three with "
        f"the obstacle), {_pct(demos.get('success'))} lifted, mean {_num(demos.get('time_to_success'), '.1f')} s; "
        f"detours left / right: {demos.get('left', 0)} / {demos.get('right', 0)}.",
        "",
        "## Plots",
        "",
        "![success against round](success_vs_round.png)",
        "",
        "![top-down paths relative to the obstacle](trajectories.png)",
        "",
        "## Reproduce",
        "",
        "```bash",
        f"kiwi {' '.join(demo.argv)}",
        "```",
        "",
        f"Settings: `{json.dumps(cfg.__dict__)}`. Seeds: layouts of the demonstrations {plans['demos']}, "
        f"of the evaluation {plans['eval']}, of the DAgger rollouts per round {rollout_seeds}; expert detour "
        f"sides drawn from seed {cfg.seed}; training seed {cfg.seed + 1000}. Training commands "
        "(the datasets and models are in this run's folder):",
        "",
        "```bash",
        *(
            "lerobot-train "
            + " ".join(
                train_command(
                    demo.out / "datasets" / dataset_name(m, r),
                    m.policy,
                    demo.out / "models" / f"{m.key}_r{r}",
                    cfg.steps,
                    cfg.batch_size,
                    cfg.seed + 1000,
                    list(m.train_args),
                )[3:]
            )
            for r in range(cfg.rounds + 1)
            for m in demo.methods
        ),
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
    path = report / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
