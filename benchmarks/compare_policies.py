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
import statistics
import sys
from pathlib import Path

from kiwi_experiments.plan import DemoError
from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, paired_t_test, rate_text
from kiwi_experiments.study import across, read_repetition

# What the studies compare: the policy, its options, and its round 0's steps (each policy's own).
DIFFERENT_BY_DESIGN = {"policy", "train_args", "steps"}


def read_study(folder: Path) -> dict[int, dict]:
    """Each finished repetition's results, by repetition number."""
    reps = {
        int(path.parent.parent.name.removeprefix("rep_")): path.parent.parent
        for path in folder.glob("rep_*/report/results.json")
    }
    if not reps:
        sys.exit(f"compare_policies: {folder} has no finished repetition (rep_*/report/results.json)")
    try:
        return {k: read_repetition(reps[k]) for k in sorted(reps)}
    except DemoError as exc:
        sys.exit(f"compare_policies: {exc}")


def shared_repetitions(studies: dict[str, dict[int, dict]]) -> list[int]:
    """The repetitions every study finished; exits when one differs in more than the policy."""
    names = list(studies)
    shared = sorted(set.intersection(*(set(reps) for reps in studies.values())))
    for name in names[1:]:
        for k in shared:
            a, b = studies[names[0]][k]["config"], studies[name][k]["config"]
            differ = sorted(
                key
                for key in a.keys() | b.keys()
                if key not in DIFFERENT_BY_DESIGN and a.get(key) != b.get(key)
            )
            if differ:
                sys.exit(
                    f"compare_policies: repetition {k} of {name} differs from {names[0]} in {', '.join(differ)}"
                )
    if not shared:
        sys.exit("compare_policies: no repetition finished in every study")
    return shared


def label(reps: dict[int, dict]) -> str:
    config = next(iter(reps.values()))["config"]
    return " ".join(
        [
            config["policy"],
            f"{config['steps']} steps",
            *([config["train_args"]] if config.get("train_args") else []),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("studies", type=Path, nargs="+")
    parser.add_argument("--model", default="r0", help="the model compared (default r0; its twin: r0_seed2)")
    args = parser.parse_args()
    studies = {str(folder): read_study(folder) for folder in args.studies}
    shared = shared_repetitions(studies)
    names = list(studies)
    base = names[0]
    evaluation = f"eval_{args.model}"
    twin = "eval_r0_seed2" if args.model == "r0" else None  # the noise floor of round 0 only

    def outcomes(name: str, k: int, model: str = evaluation) -> dict[int, bool]:
        seen = {int(seed): ok for seed, ok in studies[name][k]["successes"].get(model, {}).items()}
        if not seen:
            sys.exit(f"compare_policies: repetition {k} of {name} has no {model}")
        return seen

    def rate(name: str, k: int, model: str = evaluation) -> float:
        seen = outcomes(name, k, model)
        return sum(seen.values()) / len(seen)

    print(
        f"{args.model}: strict success on the held-out layouts, repetitions {shared} (paired against {base})"
    )
    for name in names:
        print(f"\n{name} ({label(studies[name])})")
        print(
            f"{'rep':>4} {'strict success [95 % CI]':28} {'against ' + base:>26} {'twin' if twin else '':>6}"
        )
        for k in shared:
            seen = outcomes(name, k)
            pairs = paired_outcomes(seen, outcomes(base, k))
            p = mcnemar_exact(pairs["only_first"], pairs["only_second"])
            paired = "" if name == base else f"+{pairs['only_first']} / -{pairs['only_second']}, p = {p:.2g}"
            twin_rate = f"{100 * rate(name, k, twin):.0f} %" if twin else ""
            print(f"{k:4d} {rate_text(sum(seen.values()), len(seen)):28} {paired:>26} {twin_rate:>6}")
    print(f"\nacross repetitions ({args.model}; mean ± SD, %; paired t-test against {base})")
    base_rates = [rate(base, k) for k in shared]
    for name in names:
        rates = [rate(name, k) for k in shared]
        line = f"{label(studies[name]):40} {across(rates):>14}"
        if name != base:
            test = paired_t_test(rates, base_rates)
            wins = sum(a > b for a, b in zip(rates, base_rates, strict=True))
            line += f"  {100 * test['mean']:+.1f}"
            if test["n"] > 1:
                line += f" ± {100 * test['sd']:.1f} points, won {wins} of {len(shared)}, p = {test['p']:.3g}"
            else:
                line += f" points, won {wins} of {len(shared)} (one repetition: no test)"
        if twin:
            twins = [rate(name, k, twin) for k in shared]
            floor = statistics.fmean(abs(a - b) for a, b in zip(rates, twins, strict=True))
            line += f"; twin {across(twins)}, |round 0 - twin| {100 * floor:.1f} points"
        print(line)


if __name__ == "__main__":
    main()
