"""`kiwi`: the command line of the Kiwi suite.

kiwi launch GRAPH [name:=value ...]   run a graph's nodes (what `ros2 launch` does on a full install)
kiwi graphs                          list the graphs and their arguments
kiwi convert BAGS... --out DIR       episode bags -> a LeRobotDataset v3
kiwi train DATASET --policy act --out DIR   lerobot-train, offline, CPU-sized
kiwi demo [--quick]                  the whole loop in the sim with DAgger rounds, and a report
kiwi viz [BAG_OR_DATASET]            the robot in Rerun: live, or a recorded episode
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from kiwi_bringup.cli import run_command, take_late_assignments

TRAIN_OPTIONS = "Options after -- go to lerobot-train for every model, e.g. -- --policy.kl_weight=1."
COMMANDS_GROUP = "kiwi.commands"  # entry points: NAME = module:add_parser, add_parser(subparsers)


def commands():
    """Each package's `add_parser` for its own `kiwi` commands (`launch` and `graphs`, `convert`,
    `train`, `viz`, `demo`), found through the `kiwi.commands` entry point group."""
    from importlib.metadata import entry_points

    return [ep.load() for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name)]


def add_demo_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="the whole loop in the sim: demonstrations, training, evaluation, DAgger rounds, report"
    )
    p.add_argument("--out", type=Path, default=Path("data/demo"), help="run folder (resumed if it exists)")
    add_loop_options(p)
    p.epilog = TRAIN_OPTIONS
    p.set_defaults(func=_cmd_demo)


def add_study_parser(sub) -> None:
    from kiwi_common.arguments import number_in

    from .study import MAX_REPETITIONS

    p = sub.add_parser(
        "study", help="`kiwi demo` repeated independently, and mean, SD and paired tests across repetitions"
    )
    p.add_argument("--out", type=Path, default=Path("data/study"), help="study folder (resumed if it exists)")
    p.add_argument(
        "--repetitions",
        type=number_in(int, 2, MAX_REPETITIONS),
        default=5,
        help="independent repetitions, each with its own seed (default 5)",
    )
    add_loop_options(p)
    p.epilog = TRAIN_OPTIONS
    p.set_defaults(func=_cmd_study)


def add_loop_options(p) -> None:
    """The options of one run of the loop (`kiwi demo`'s, and each repetition's of `kiwi study`)."""
    from kiwi_common.arguments import number_in
    from kiwi_policy.train import training_steps_text

    from .demo import DemoConfig
    from .plan import MAX_HELD_OUT, OBSERVATIONS, RUN_SEEDS

    defaults = DemoConfig()
    default_texts = {"steps": training_steps_text()}
    p.add_argument(
        "--quick", action="store_true", help="a tiny run (a smoke test: 2 demos, 10 training steps)"
    )
    p.add_argument("--fresh", action="store_true", help="delete the run folder first")
    p.add_argument(
        "--policy",
        choices=("act", "diffusion", "kiwi_mlp"),
        default=None,
        help=f"the chunked policy (default {defaults.policy})",
    )
    p.add_argument(
        "--observation",
        choices=OBSERVATIONS,
        default=None,
        help="what the policy sees: state (joints, wheels, the cube and obstacle from the sim's ground "
        "truth) or images (joints, wheels and both cameras at 96x128, as on a real LeKiwi); the expert "
        f"and the gate read the ground truth either way (default {defaults.observation})",
    )
    p.add_argument(
        "--detour",
        choices=("left", "right", "random"),
        default=None,
        help=f"the expert's detour side in the demonstrations, random: drawn per episode (default {defaults.detour})",
    )
    for name, text, low, high in (
        ("demos", "expert demonstrations", 1, RUN_SEEDS["demos"][1]),
        ("eval_episodes", "held-out evaluation layouts per model", 1, MAX_HELD_OUT),
        ("dev_episodes", "development layouts per diagnosed model (paths, videos)", 1, MAX_HELD_OUT),
        ("wide_episodes", "layouts of the wider task per diagnosed model", 1, MAX_HELD_OUT),
        ("rounds", "DAgger rounds", 0, 9),  # each round's rollouts have 100 seeds of their own
        ("dagger_episodes", "rollouts per HG-DAgger round", 1, 100),
        ("steps", "round 0's training steps", 1, math.inf),
        ("round_steps", "training steps of each later round, continuing the last model", 1, math.inf),
        ("batch_size", "training batch size", 1, math.inf),
        ("correction_weight", "times each correction segment is written (oversampling)", 1, math.inf),
        ("seed", "seed of it all", 0, 20_000),
    ):
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=number_in(int, low, high),
            default=None,
            help=f"{text} (default {default_texts.get(name, getattr(defaults, name))})",
        )
    p.add_argument(
        "--sim-speed", type=float, default=None, help=f"sim speed x real time (default {defaults.sim_speed})"
    )
    p.add_argument(
        "--backend",
        choices=("ros", "env"),
        default=None,
        help="ros: demonstrations and rollouts through the ROS graphs; env: the same expert, gate and "
        f"policy in the gymnasium env, one process, no ROS (default {defaults.backend})",
    )
    p.add_argument(
        "--timeout-s",
        type=float,
        default=None,
        help=f"sim seconds per rollout (default {defaults.timeout_s})",
    )
    p.add_argument(
        "--gate-lift-stall-s",
        type=number_in(float, 0.0, 10.0),
        default=None,
        help="the gate takes over when a cube off the floor, below the hold height, has not risen for "
        f"this many seconds; 0: off (default {defaults.gate_lift_stall_s})",
    )
    p.add_argument(
        "--gate-patience-s",
        type=number_in(float, 0.0, 10.0),
        default=None,
        help="seconds the gate lets the jaws stay shut on nothing, or the base past the grasp stand, "
        f"before the expert takes over (default {defaults.gate_patience_s})",
    )
    p.add_argument(
        "--diffusion-noise",
        type=number_in(float, 0.0, 10.0),
        default=None,
        help="Diffusion (DDIM) only: the scale of the noise its sampler starts from at every chunk, in "
        "the rollouts and evaluations; 1: LeRobot's, 0: zeros (unset: 0.5 with Kiwi's DDIM preset, "
        "1 with DDPM)",
    )


def command_line(name: str, args) -> list[str]:
    """The command as given (the report's Reproduce line), lerobot-train's options after `--` included."""
    return [name, *args.raw_argv, *(["--", *args.passthrough] if args.passthrough else [])]


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args, command_line("demo", args))


def _cmd_study(args) -> int:
    from .demo import run_demo
    from .study import run_study

    argv = command_line("study", args)
    return run_demo(args, argv, lambda config: run_study(args.out, config, args.repetitions, argv))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line as the `kiwi` command reads it (nothing runs): argparse exits 2 on a bad one."""
    parser = argparse.ArgumentParser(prog="kiwi", description="Kiwi: teach LeKiwi by demonstration.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser in commands():
        add_parser(sub)
    argv = list(argv)
    passthrough = []
    if "--" in argv:  # everything after -- goes to lerobot-train untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args, unknown = parser.parse_known_args(argv)
    if take_late_assignments(args, unknown):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.passthrough = passthrough
    args.raw_argv = argv[1:]
    return args


def main(argv: list[str] | None = None) -> int:
    # Offline, always: no command may reach the Hugging Face Hub (LeRobot fetches what a local
    # dataset lacks); set before huggingface_hub is imported, which reads it once.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return run_command("kiwi", parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
