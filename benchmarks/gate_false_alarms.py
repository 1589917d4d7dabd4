"""How often the HG-DAgger gate takes over from a policy that would have succeeded on its own. A
diagnosis on a study's rollout layouts (the runs' own, never the held-out ones).

    .venv/bin/python benchmarks/gate_false_alarms.py STUDY [--rounds 1,3] [--patience 0,0.5,1]
        [--lift-stall 0.25,0.5,1]

STUDY: a `kiwi study` folder (rep_k/ each a `kiwi demo` run). For each repetition and round, the
round's model drives alone (no take-over) from each of that round's rollout layouts, with its
chunks timed as in the rollouts, while candidate gates (every pair of `--patience` and
`--lift-stall`, the other rules at their defaults) only watch. Up to its first take-over a gated
rollout is that same episode (the env and the policy are deterministic per layout), so a
candidate's first firing is where it would have taken over. A firing on an episode the policy
went on to succeed is a false alarm; a failure it never fired on is a miss. Per round and
candidate: the share of rollouts taken over, false alarms, true alarms, misses, and the first
firings by reason.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kiwi_description.constants import CONTROL_RATE_HZ  # noqa: E402
from kiwi_experiments.env_episodes import detour_side  # noqa: E402
from kiwi_experiments.env_runs import drive_policy, policy_in_env  # noqa: E402
from kiwi_experiments.evaluation import Rollout, summarize  # noqa: E402
from kiwi_experiments.plan import DemoConfig, round_model  # noqa: E402
from kiwi_teleop.gating import Gate, GateRule  # noqa: E402


class WatchingGates:
    """A gate as `drive_policy` sees it that never takes over: it feeds each tick to every
    candidate gate and keeps each one's first firing (reason, time) of the episode."""

    def __init__(self, rules: dict[str, GateRule]):
        self.rule = GateRule()  # what drive_policy builds the gate's observation with
        self.engaged = False
        self.gates = {name: Gate(rule) for name, rule in rules.items()}
        self.first: dict[str, tuple[str, float]] = {}

    def reset(self) -> None:
        self.first = {}
        for gate in self.gates.values():
            gate.reset()

    def update(self, now: float, seen, judge: bool = True) -> bool:
        for name, gate in self.gates.items():
            if name not in self.first and gate.update(now, seen, judge):
                self.first[name] = (gate.reason, round(now, 2))
        return False


def watch(study: Path, rep: int, round_: int, rules: dict[str, GateRule]) -> list[dict]:
    """The round's model alone on its rollout layouts: per episode, success and each candidate's
    first firing."""
    run = study / f"rep_{rep}"
    config = DemoConfig(**json.loads((run / "config.json").read_text()))
    rollouts = run / "episodes" / f"rollouts_r{round_}.jsonl"
    seeds = [json.loads(line)["seed"] for line in rollouts.read_text().splitlines()]
    model = run / "models" / round_model(round_) / "checkpoints" / "last" / "pretrained_model"
    ticks = int(config.timeout_s * CONTROL_RATE_HZ)
    watchers = WatchingGates(rules)
    episodes = []
    with policy_in_env(model) as (predictor, env):
        for seed in seeds:
            rollout = Rollout(seed, None)
            side = detour_side(config, seed)
            drive_policy(env, predictor, seed, ticks, rollout, gate=watchers, side=side)
            episodes.append({"seed": seed, "success": summarize(rollout)["success"], "first": watchers.first})
    return episodes


def tally(episodes: list[dict], name: str) -> dict:
    fired = [e for e in episodes if name in e["first"]]
    return {
        "taken over": len(fired) / len(episodes),
        "false": sum(e["success"] for e in fired),
        "true": sum(not e["success"] for e in fired),
        "missed": sum(not e["success"] for e in episodes if name not in e["first"]),
        "reasons": dict(Counter(e["first"][name][0] for e in fired)),
    }


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("study", type=Path)
    ap.add_argument("--rounds", default="1,3")
    ap.add_argument("--patience", default="0,0.5,1")
    ap.add_argument("--lift-stall", default="0.25,0.5,1")
    args = ap.parse_args()
    rules = {
        f"patience {p:g} s, lift stall {s:g} s": GateRule(patience_s=p, lift_stall_s=s)
        for p, s in itertools.product(_numbers(args.patience), _numbers(args.lift_stall))
    }
    reps = sorted(int(p.name.split("_")[1]) for p in args.study.glob("rep_[0-9]*"))
    for round_ in (int(r) for r in args.rounds.split(",")):
        episodes = [e for rep in reps for e in watch(args.study, rep, round_, rules)]
        failures = sum(not e["success"] for e in episodes)
        print(f"\nround {round_}'s models alone: {len(episodes)} rollout layouts, {failures} failed")
        print("| gate | taken over | false alarms | true alarms | missed failures | first firing by reason |")
        print("|---|---|---|---|---|---|")
        for name in rules:
            t = tally(episodes, name)
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(t["reasons"].items(), key=lambda kv: -kv[1]))
            print(
                f"| {name} | {t['taken over']:.3f} | {t['false']} | {t['true']} | {t['missed']} | {reasons} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
