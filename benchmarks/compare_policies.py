"""Policies against each other on the same demonstrations and held-out layouts: `kiwi study` folders
made with the same options except `--policy` (and options after `--`), e.g. `--rounds 0`, read side
by side. Repetition k of every study has the same seed, so the same demonstrations, training seeds
and layouts: the comparison is paired by repetition and, within one, by layout.

Per repetition: each study's round 0 (or --model) strict success with its Wilson 95 % interval and
McNemar's exact test against the first study's on the same layouts. Across repetitions: mean +- SD
and Student's paired t-test against the first study; and the twin's figures (round 0 trained with
another seed on the same data), whose difference from round 0 is the noise floor of one training.

    .venv/bin/python benchmarks/compare_policies.py STUDY [STUDY ...] [--model r0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, paired_t_test, rate_text

DIFFERENT_BY_DESIGN = {"policy", "train_args"}  # what the studies compare


def read_study(folder: Path) -> list[dict]:
    """Each finished repetition's results.json, in order."""
    reps = sorted(folder.glob("rep_*/report/results.json"), key=lambda p: int(p.parent.parent.name[4:]))
    if not reps:
        sys.exit(f"compare_policies: {folder} has no finished repetition (rep_*/report/results.json)")
    return [json.loads(path.read_text()) for path in reps]


def check_alike(studies: dict[str, list[dict]]) -> int:
    """How many repetitions all studies share; exits when they differ in more than the policy."""
    names = list(studies)
    first = studies[names[0]]
    shared = min(len(reps) for reps in studies.values())
    for name in names[1:]:
        for k in range(shared):
            a, b = first[k]["config"], studies[name][k]["config"]
            differ = sorted(
                key
                for key in a.keys() | b.keys()
                if key not in DIFFERENT_BY_DESIGN and a.get(key) != b.get(key)
            )
            if differ:
                sys.exit(
                    f"compare_policies: repetition {k} of {name} differs from {names[0]} in {', '.join(differ)}"
                )
    return shared


def label(reps: list[dict]) -> str:
    config = reps[0]["config"]
    return " ".join([config["policy"], *([config["train_args"]] if config.get("train_args") else [])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", type=Path, nargs="+")
    parser.add_argument("--model", default="r0", help="the model compared (default r0; its twin: r0_seed2)")
    args = parser.parse_args()
    studies = {str(folder): read_study(folder) for folder in args.studies}
    shared = check_alike(studies)
    names = list(studies)
    base = names[0]
    evaluation = f"eval_{args.model}"

    def outcomes(name: str, k: int, model: str = evaluation) -> dict[int, bool]:
        return {int(seed): ok for seed, ok in studies[name][k]["successes"].get(model, {}).items()}

    def rate(name: str, k: int, model: str = evaluation) -> float | None:
        seen = outcomes(name, k, model)
        return sum(seen.values()) / len(seen) if seen else None

    print(
        f"{args.model}: strict success on the held-out layouts, {shared} repetitions (paired against {base})"
    )
    for name in names:
        print(f"\n{name} ({label(studies[name])})")
        print(f"{'rep':>4} {'strict success [95 % CI]':28} {'against ' + base:>26} {'twin':>6}")
        for k in range(shared):
            seen = outcomes(name, k)
            pairs = paired_outcomes(seen, outcomes(base, k))
            p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
            twin = rate(name, k, "eval_r0_seed2")
            print(
                f"{k:4d} {rate_text(sum(seen.values()), len(seen)):28} "
                f"{'' if name == base else f'+{pairs["only_first"]} / -{pairs["only_second"]}, p = {p:.2g}':>26} "
                f"{'–' if twin is None else f'{100 * twin:.0f} %':>6}"
            )
    print(f"\nacross repetitions ({args.model}; mean ± SD, %; paired t-test against {base})")
    base_rates = [rate(base, k) for k in range(shared)]
    for name in names:
        rates = [rate(name, k) for k in range(shared)]
        twins = [rate(name, k, "eval_r0_seed2") for k in range(shared)]
        line = f"{label(studies[name]):40} {_mean_sd(rates):>14}"
        if name != base:
            test = paired_t_test(rates, base_rates)
            wins = sum(a > b for a, b in zip(rates, base_rates, strict=True))
            line += f"  {100 * test['mean']:+.1f} ± {100 * test['sd']:.1f} points, won {wins} of {shared}, p = {test['p']:.3g}"
        if all(t is not None for t in twins):
            floor = statistics.fmean(abs(a - b) for a, b in zip(rates, twins, strict=True))
            line += f"; twin {_mean_sd(twins)}, |round 0 - twin| {100 * floor:.1f} points"
        print(line)


def _mean_sd(values: list[float]) -> str:
    if len(values) < 2:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.fmean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


if __name__ == "__main__":
    main()
