"""Where the cube goes after a policy lifts it: held for the second strict success asks, or dropped;
and the gripper command while the cube is off the floor, the policy's against the expert's label
for the same state. A diagnosis on a run's development layouts (never the held-out ones).

    .venv/bin/python benchmarks/hold_diagnosis.py MODEL [MODEL ...] [--layouts 20] [--run-seed 0]

MODEL: a `pretrained_model` folder of a state-only policy (a `kiwi demo` run's models/<name>/
checkpoints/last/pretrained_model). Per model: strict successes, layouts lifted (loose) but not
held, drops (the cube off the floor, then back on it), and the gripper command (LeRobot's 0..100,
0 shut) while the cube is off the floor: mean and 10th / 90th percentiles, and the expert's mean.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from kiwi_common.features import MOTOR_NAMES  # noqa: E402
from kiwi_description import constants as c  # noqa: E402
from kiwi_experiments.env_runs import MAX_TICKS, policy_in_env  # noqa: E402
from kiwi_experiments.env_runs import _observation as observation_of  # noqa: E402
from kiwi_experiments.plan import DemoConfig  # noqa: E402

GRIPPER = MOTOR_NAMES.index("arm_gripper.pos")
OFF_FLOOR = c.CUBE_SIZE / 2 + 0.015  # m: the cube's centre this high is off the floor
BACK_DOWN = c.CUBE_SIZE / 2 + 0.005


def diagnose(model: Path, seeds: list[int]) -> dict:
    policy_grip, expert_grip = [], []
    strict = lifted_not_held = drops = 0
    with policy_in_env(model) as (predictor, env):
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            predictor.reset()
            chunk, used, up, lifted, terminated = None, 0, False, False, False
            for _ in range(MAX_TICKS):
                if chunk is None or used == len(chunk):
                    chunk, used = predictor.predict([observation_of(obs)]), 0
                action = chunk[used]
                used += 1
                z = float(env.sim.cube_pose()[0][2])
                if z > OFF_FLOOR:
                    policy_grip.append(float(action[GRIPPER]))
                    expert_grip.append(float(info["expert_action"][GRIPPER]))
                    up = True
                elif up and z < BACK_DOWN:
                    drops, up = drops + 1, False
                obs, _, terminated, _, info = env.step(action)
                lifted |= bool(info["lifted"])
                if terminated:
                    break
            strict += bool(terminated)
            lifted_not_held += lifted and not terminated
    grip = np.asarray(policy_grip)
    return {
        "layouts": len(seeds),
        "strict": strict,
        "lifted_not_held": lifted_not_held,
        "drops": drops,
        "ticks_up": len(grip),
        "grip": (grip.mean(), *np.percentile(grip, [10, 90])) if len(grip) else None,
        "expert_grip": float(np.mean(expert_grip)) if expert_grip else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--layouts", type=int, default=20)
    parser.add_argument("--run-seed", type=int, default=0)
    args = parser.parse_args()
    seeds = [plan.seed for plan in DemoConfig(seed=args.run_seed).plans("dev", args.layouts)]
    print(f"development layouts {seeds[0]}..{seeds[-1]}")
    print(f"{'model':60} strict  lifted-not-held  drops  gripper while up: policy mean [p10, p90] / expert")
    for model in args.models:
        r = diagnose(model, seeds)
        grip = (
            "–"
            if r["grip"] is None
            else f"{r['grip'][0]:.1f} [{r['grip'][1]:.1f}, {r['grip'][2]:.1f}] / {r['expert_grip']:.1f}"
        )
        print(
            f"{str(model)[-60:]:60} {r['strict']:2d}/{r['layouts']}  {r['lifted_not_held']:15d}  {r['drops']:5d}  {grip}"
        )


if __name__ == "__main__":
    main()
