"""`kiwi study`: the `kiwi demo` loop repeated as independent repetitions, and what holds across them.

Repetition k is a whole `kiwi demo` run in `rep_k/` with the run seed `seed + k`: its own
demonstrations, rollouts, extra demonstrations and training seeds; every repetition's models are
scored on the same held-out layouts. A repetition whose report exists is not run again, so the
study resumes where it stopped (inside a repetition, `kiwi demo`'s own resume applies).

The study's report reads only the repetitions' `report/results.json`: per repetition its strict
success on the held-out layouts and take-overs per rollout; across repetitions mean +- SD and
Student's paired t-test (paired by repetition) of the last round against round 0, the control and
the effort-matched BC arm, and of round 0 against its twin trained with another seed (the noise
floor).
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from dataclasses import asdict, replace
from pathlib import Path

from .plan import DemoConfig, DemoError, compared_settings, recorded_settings, round_model, write_atomically
from .report import observation_text
from .statistics import paired_t_test

MAX_REPETITIONS = 20


def repetition_folder(out: Path, k: int) -> Path:
    return Path(out) / f"rep_{k}"


def run_study(
    out: Path, config: DemoConfig, repetitions: int, argv: list[str], progress: bool = True
) -> Path:
    """Run (or finish) the repetitions one after another; the study's report is written anew after
    each, from the repetitions finished so far."""
    from .demo import Demo

    path = None
    for k in range(repetitions):
        folder = repetition_folder(out, k)
        if not (folder / "report" / "results.json").exists():
            print(f"kiwi study: repetition {k + 1} of {repetitions} in {folder}", file=sys.stderr)
            Demo(folder, replace(config, seed=config.seed + k), argv, progress).run()
        done = [read_repetition(repetition_folder(out, j)) for j in range(k + 1)]
        check_settings(done, config)
        path = write_study_report(out, done)
    return path


def check_settings(repetitions: list[dict], config: DemoConfig) -> None:
    """Every repetition ran with the study's settings (its own seed): a study of mixed settings
    would compare unlike runs (`recorded_settings`: what a repetition made by older code ran)."""
    for k, results in enumerate(repetitions):
        wanted = compared_settings(asdict(replace(config, seed=config.seed + k)))
        ran = recorded_settings(results["config"])
        changed = [f"{key} {ran[key]} -> {value}" for key, value in wanted.items() if ran[key] != value]
        if changed:
            raise DemoError(
                f"repetition {k} ran with other settings ({', '.join(changed)}); give the same options, "
                f"a new --out, or --fresh to start over"
            )


def read_repetition(folder: Path) -> dict:
    path = folder / "report" / "results.json"
    try:
        results = json.loads(path.read_text())
        results["rows"], results["config"]  # noqa: B018 (what the study reads)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"{path} is damaged or missing ({exc}); run that repetition again") from None
    return results


def figures(results: dict) -> dict[str, float | None]:
    """One repetition's figures: strict success of each model on the held-out layouts, the last
    round's loose 'lifted', take-overs per rollout of each round's model, minutes of stages."""
    rows, rounds = results["rows"], results["config"]["rounds"]

    def rate(name: str, key: str = "success") -> float | None:
        row = rows.get(name) or {}
        return row.get(key) if row.get("episodes") else None

    out = {"r0": rate("eval_r0"), "last": rate(f"eval_{round_model(rounds)}")}
    out |= {f"hg_r{r}": rate(f"eval_hg_r{r}") for r in range(1, rounds)}
    out |= {name: rate(f"eval_{name}") for name in ("control", "bc", "r0_seed2")}
    out["last_lifted"] = rate(f"eval_{round_model(rounds)}", "lifted")
    out |= {f"wide_{name}": rate(f"wide_{model}") for name, model in wide_models(rounds)}
    for r in range(rounds + 1):
        out[f"takeovers_r{r}"] = rate(f"rollouts_r{r}", "interventions_per_episode")
    out["minutes"] = sum(results.get("timings_s", {}).values()) / 60
    return out


def wide_models(rounds: int) -> list[tuple[str, str]]:
    """(figure, model) of the wider task's evaluations."""
    return [("r0", "r0"), ("last", round_model(rounds)), ("control", "control"), ("bc", "bc")]


COMPARISONS = (
    ("last", "r0", "last round against round 0"),
    ("last", "control", "last round against the same-steps control"),
    ("last", "bc", "last round against the effort-matched BC arm"),
    ("r0_seed2", "r0", "round 0 against its twin from another training seed (noise floor)"),
)


def across(values: list[float | None]) -> str:
    """'mean +- SD' of the repetitions that have the figure (percent for rates)."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return "–" if not present else f"{100 * present[0]:.1f}"
    return f"{100 * statistics.fmean(present):.1f} ± {100 * statistics.stdev(present):.1f}"


def comparison_rows(table: list[dict]) -> list[dict]:
    rows = []
    for first, second, label in COMPARISONS:
        pairs = [(f[first], f[second]) for f in table if f[first] is not None and f[second] is not None]
        test = paired_t_test([a for a, _ in pairs], [b for _, b in pairs])
        wins = sum(a > b for a, b in pairs)
        rows.append({"comparison": label, "first": first, "second": second, "wins": wins, **test})
    return rows


def convergence_text(table: list[dict], extra_steps: int) -> str:
    """Whether training converged: what more steps on the same data did (the control against round
    0) beside what chance alone does (round 0 against its twin)."""
    more = [f["control"] - f["r0"] for f in table if f["control"] is not None and f["r0"] is not None]
    chance = [
        abs(f["r0_seed2"] - f["r0"]) for f in table if f["r0_seed2"] is not None and f["r0"] is not None
    ]
    if not more or not chance:
        return "Convergence: not measured (no control or no twin)."
    verdict = "within" if abs(statistics.fmean(more)) <= statistics.fmean(chance) else "beyond"
    return (
        f"Convergence: {extra_steps} more steps on the same data (the control against round 0) moved strict "
        f"success by {100 * statistics.fmean(more):+.1f} points in the mean (per repetition: "
        f"{', '.join(f'{100 * m:+.0f}' for m in more)}); two models made alike (round 0 and its twin) differ by "
        f"{100 * statistics.fmean(chance):.1f} points in the mean: the gain from more steps is {verdict} the "
        f"noise floor, so round 0 {'has' if verdict == 'within' else 'has not'} converged."
    )


def write_study_report(out: Path, repetitions: list[dict]) -> Path:
    """`out/report/README.md` and `study.json` from the repetitions' results."""
    report = Path(out) / "report"
    report.mkdir(parents=True, exist_ok=True)
    table = [figures(r) for r in repetitions]
    comparisons = comparison_rows(table)
    config = repetitions[0]["config"]
    rounds = config["rounds"]
    write_atomically(
        report / "study.json",
        json.dumps(
            {
                "repetitions": table,
                "comparisons": comparisons,
                "configs": [r["config"] for r in repetitions],
                "code": [r.get("code") for r in repetitions],
            },
            indent=2,
        ),
    )
    models = ["r0", *(f"hg_r{r}" for r in range(1, rounds)), "last", "control", "bc", "r0_seed2"]
    headers = {
        "r0": "round 0",
        "last": f"round {rounds}",
        "control": "control",
        "bc": "effort-matched BC",
        "r0_seed2": "round 0, other seed",
    } | {f"hg_r{r}": f"round {r}" for r in range(1, rounds)}
    takeovers = [f"takeovers_r{r}" for r in range(rounds + 1)]
    lines = [
        "# Kiwi study report",
        "",
        f"{len(repetitions)} independent repetition{'s' if len(repetitions) > 1 else ''} of `kiwi demo` (settings below; repetition k runs with "
        f"seed {config['seed']} + k: its own demonstrations, rollouts, extra demonstrations and training "
        "seeds). Every figure is strict success on the same "
        f"{config['eval_episodes']} held-out layouts (seeds 900000..{900000 + config['eval_episodes'] - 1}, "
        "used for nothing else): the cube between the jaws, 5 cm above its rest, for 1 s. "
        + observation_text(config.get("observation", "state")),
        "",
        code_text([r.get("code") for r in repetitions]),
        "",
        "## Strict success per repetition (held-out layouts, %)",
        "",
        "| repetition | " + " | ".join(headers[m] for m in models) + f" | round {rounds}, lifted (loose) | "
        "take-overs per rollout, by the model of round "
        + ", ".join(str(r) for r in range(rounds + 1))
        + " | minutes |",
        "|---|" + "---|" * (len(models) + 3),
    ]
    for k, f in enumerate(table):
        lines.append(
            f"| {k} | "
            + " | ".join(_pct(f[m]) for m in models)
            + f" | {_pct(f['last_lifted'])} | "
            + ", ".join("–" if f[t] is None else f"{f[t]:.2f}" for t in takeovers)
            + f" | {f['minutes']:.0f} |"
        )
    lines.append(
        "| mean ± SD | "
        + " | ".join(across([f[m] for f in table]) for m in models)
        + f" | {across([f['last_lifted'] for f in table])} | "
        + ", ".join(_mean_sd([f[t] for f in table]) for t in takeovers)
        + f" | {statistics.fmean(f['minutes'] for f in table):.0f} |"
    )
    lines += [
        "",
        "## Across repetitions (paired by repetition)",
        "",
        "| comparison | repetitions won | mean difference ± SD (points) | t | p (Student, two-sided) |",
        "|---|---|---|---|---|",
    ]
    for row in comparisons:
        if row["n"] < 2 or math.isnan(row["p"]):  # one repetition, or no spread: no test
            spread, t, p = f"{100 * row['mean']:+.1f}" if row["n"] else "–", "–", "–"
        else:
            spread, t, p = (
                f"{100 * row['mean']:+.1f} ± {100 * row['sd']:.1f}",
                f"{row['t']:.2f}",
                f"{row['p']:.3g}",
            )
        lines.append(f"| {row['comparison']} | {row['wins']} of {row['n']} | {spread} | {t} | {p} |")
    lines += ["", convergence_text(table, config["rounds"] * config["round_steps"])]
    wide = [f"wide_{name}" for name, _ in wide_models(rounds)]
    lines += ["", "## The wider task (a baseline, no target)", ""]
    if not any(f.get(w) is not None for f in table for w in wide):
        lines.append(
            "Not measured: these repetitions were made by code from before the wider task's evaluation."
        )
    else:
        lines += [
            "Strict success on the wider task's layouts (`kiwi_common.task.sample_wide_layout`: the cube 0.6-1.5 m "
            "away at a bearing within ±45°, the start heading within ±30°, the obstacle on half of them), which "
            "no model was taught (%):",
            "",
            "| repetition | " + " | ".join(headers[w.removeprefix("wide_")] for w in wide) + " |",
            "|---|" + "---|" * len(wide),
            *(f"| {k} | " + " | ".join(_pct(f.get(w)) for w in wide) + " |" for k, f in enumerate(table)),
            "| mean ± SD | " + " | ".join(across([f.get(w) for f in table]) for w in wide) + " |",
        ]
    lines += [
        "",
        "Each repetition's own report (per-layout outcomes, McNemar tests, paths and videos on its development "
        "layouts, commands and seeds) is `rep_k/report/README.md`.",
        "",
        "## Settings",
        "",
        f"`{json.dumps(config)}`",
        "",
    ]
    path = report / "README.md"
    write_atomically(path, "\n".join(lines))
    return path


def code_text(codes: list[dict | None]) -> str:
    """Which code made each repetition; a study pooled from different code says so first."""
    names = []
    for code in codes:
        commit, dirty = (code or {}).get("commit"), (code or {}).get("dirty")
        names.append((commit[:7] if commit else "no commit") + (" (uncommitted changes)" if dirty else ""))
    fingerprints = {c.get("fingerprint") if c else None for c in codes}
    lines = ", ".join(f"repetition {k}: {name}" for k, name in enumerate(names))
    if len(fingerprints) > 1:
        return f"**The repetitions were made by different code**, pooled here: {lines}."
    return f"Code: {lines}."


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}"


def _mean_sd(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return "–" if not present else f"{present[0]:.2f}"
    return f"{statistics.fmean(present):.2f} ± {statistics.stdev(present):.2f}"
