"""Where the cube goes after a policy lifts it, and whose part of the lift loses it. A diagnosis on
a run's development layouts (never the held-out ones).

    .venv/bin/python benchmarks/hold_diagnosis.py MODEL [MODEL ...] [--layouts 20] [--run-seed 0]

MODEL: a `pretrained_model` folder of a state-only policy (a `kiwi demo` run's models/<name>/
checkpoints/last/pretrained_model). The policy drives as in `kiwi demo`'s evaluations (its chunks
timed as the policy node times them). Each model runs the layouts three times, differing only
from the moment its jaws first close on the cube (opened, then shut to the holding angle with
the cube still on the floor):
- `policy`: nothing changes (the evaluation's episode);
- `expert lifts`: the scripted expert drives from that grasp until the cube is back on the floor
  (then the policy again): does the policy's grasp hold when it is lifted as the expert lifts?
- `jaws shut`: the policy drives, its gripper command set to shut while the cube is off the floor:
  is a command too open for a squeeze what lets the cube go?
Per run: strict successes, layouts lifted (loose) but not held, drops (the cube off the floor,
then back on it), and with `policy` the gripper command while the cube is off the floor
(LeRobot's 0..100, 0 shut): mean and 10th / 90th percentiles, and the expert's label there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from kiwi_common.features import MOTOR_NAMES  # noqa: E402
from kiwi_common.task import is_lifted  # noqa: E402
from kiwi_description import constants as c  # noqa: E402
from kiwi_experiments.env_runs import drive_policy, policy_in_env  # noqa: E402
from kiwi_experiments.plan import DemoConfig  # noqa: E402
from kiwi_teleop.expert import ON_FACES, OPEN_READY  # noqa: E402
from kiwi_teleop.gating import OFF_FLOOR  # noqa: E402

GRIPPER = MOTOR_NAMES.index("arm_gripper.pos")
JAW = c.ARM_JOINTS.index(c.GRIPPER_JOINT)
BACK_DOWN = 0.005
ARMS = ("policy", "expert lifts", "jaws shut")


class LiftSwap:
    """The env as `drive_policy` sees it, with the lift after the policy's grasp given to `arm`;
    it counts drops and lifts not held, and records the gripper commands while the cube is up."""

    def __init__(self, env, arm: str):
        self.env, self.arm = env, arm
        self.grip, self.expert_grip = [], []
        self.drops = 0

    def __getattr__(self, name):
        return getattr(self.env, name)

    def reset(self, **kwargs):
        self.opened = self.grasped = self.up = self.lifted = False
        return self.env.reset(**kwargs)

    def step(self, action):
        cube_z = float(self.env.sim.cube_pose()[0][2])
        height = cube_z - c.CUBE_SIZE / 2
        self.lifted |= is_lifted(cube_z)
        jaw = float(self.env.sim.arm_positions()[JAW])
        self.opened |= jaw >= OPEN_READY
        if self.opened and jaw <= ON_FACES and height < BACK_DOWN:
            self.grasped, self.opened = True, False
        if height > OFF_FLOOR:
            self.up = True
            if self.arm == "policy":
                self.grip.append(float(action[GRIPPER]))
                self.expert_grip.append(float(self.env.expert_action_for((0.0, 0.0, 0.0))[GRIPPER]))
        elif self.up and height < BACK_DOWN:
            self.drops, self.up, self.grasped = self.drops + 1, False, False
        if self.arm == "expert lifts" and self.grasped:
            action = self.env.expert_action_for((0.0, 0.0, 0.0))
        elif self.arm == "jaws shut" and height > OFF_FLOOR:
            action = np.array(action, copy=True)
            action[GRIPPER] = 0.0
        return self.env.step(action)


def diagnose(model: Path, seeds: list[int], arm: str) -> dict:
    strict = lifted_not_held = 0
    with policy_in_env(model) as (predictor, env):
        swap = LiftSwap(env, arm)
        for seed in seeds:
            episode, _ = drive_policy(swap, predictor, seed)
            strict += episode.success
            lifted_not_held += swap.lifted and not episode.success
    grip = np.asarray(swap.grip)
    return {
        "strict": strict,
        "lifted_not_held": lifted_not_held,
        "drops": swap.drops,
        "grip": (grip.mean(), *np.percentile(grip, [10, 90])) if len(grip) else None,
        "expert_grip": float(np.mean(swap.expert_grip)) if swap.expert_grip else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+")
    parser.add_argument("--layouts", type=int, default=20)
    parser.add_argument("--run-seed", type=int, default=0)
    args = parser.parse_args()
    seeds = [plan.seed for plan in DemoConfig(seed=args.run_seed).plans("dev", args.layouts)]
    print(f"development layouts {seeds[0]}..{seeds[-1]}")
    print(
        f"{'model':48} {'after the grasp':14} strict  lifted-not-held  drops  gripper while up: mean [p10, p90] / expert"
    )
    for model in args.models:
        for arm in ARMS:
            r = diagnose(model, seeds, arm)
            grip = (
                ""
                if r["grip"] is None
                else f"{r['grip'][0]:.1f} [{r['grip'][1]:.1f}, {r['grip'][2]:.1f}] / {r['expert_grip']:.1f}"
            )
            print(
                f"{str(model)[-48:]:48} {arm:14} {r['strict']:2d}/{len(seeds)}  "
                f"{r['lifted_not_held']:15d}  {r['drops']:5d}  {grip}",
                flush=True,
            )


if __name__ == "__main__":
    main()
