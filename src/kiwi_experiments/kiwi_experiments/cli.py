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
import sys
from pathlib import Path

from kiwi_bringup.cli import add_commands, run_command, take_late_assignments
from kiwi_viz.cli import add_parser as add_viz_parser


def _video_settings(args):
    """Kiwi's encoding (or LeRobot's, --lerobot-video) with the codec, preset and CRF given."""
    from dataclasses import replace

    from kiwi_recorder.video import KIWI_VIDEO, LEROBOT_VIDEO

    video = LEROBOT_VIDEO if args.lerobot_video else KIWI_VIDEO
    if args.vcodec and args.vcodec != video.vcodec:
        video = replace(video, vcodec=args.vcodec, preset=None)  # presets are codec-specific
    if args.preset is not None:
        video = replace(video, preset=int(args.preset) if args.preset.isdigit() else args.preset)
    if args.crf is not None:
        video = replace(video, crf=args.crf)
    return video


def _cmd_convert(args) -> int:
    from kiwi_common.features import Mapping
    from kiwi_recorder.convert import ConvertError, convert, find_bags

    bags = [bag for path in args.bags for bag in find_bags(path)]
    corrections = [bag for path in args.corrections for bag in find_bags(path)]
    mapping = Mapping.load(args.mapping) if args.mapping else Mapping()
    if args.state_only:
        mapping = mapping.state_only()
    if args.image_size:
        mapping = mapping.with_image_size(*args.image_size)
    try:
        summary = convert(
            bags,
            args.out,
            fps=args.fps,
            repo_id=args.repo_id,
            mapping=mapping,
            use_videos=not args.no_videos,
            corrections=corrections,
            video=_video_settings(args),
            verbose=args.verbose,
            correction_weight=args.correction_weight,
            min_segment_frames=args.min_segment_frames,
        )
    except ConvertError as exc:
        print(f"kiwi convert: {exc}; nothing was written", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out}: {summary['episodes']} episodes, {summary['frames']} frames at {summary['fps']:g} fps"
    )
    return 0


def _cmd_train(args) -> int:
    from kiwi_policy.train import TrainError, train

    try:
        pretrained = train(
            args.dataset,
            args.policy,
            args.out,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            extra=args.lerobot_args,
        )
    except TrainError as exc:
        print(f"kiwi train: {exc}", file=sys.stderr)
        return 1
    print(f"checkpoint: {pretrained}")
    return 0


def _image_size(text: str) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, e.g. 96x128, got {text!r}") from None
    return height, width


def _add_demo_parser(sub) -> None:
    from .demo import DemoConfig

    defaults = DemoConfig()
    p = sub.add_parser(
        "demo", help="the whole loop in the sim: demonstrations, training, evaluation, DAgger rounds, report"
    )
    p.add_argument("--out", type=Path, default=Path("data/demo"), help="run folder (resumed if it exists)")
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
        "--detour",
        choices=("left", "right", "random"),
        default=None,
        help=f"the expert's detour side in the demonstrations, random: drawn per episode (default {defaults.detour})",
    )
    for name, text in (
        ("demos", "expert demonstrations"),
        ("eval_episodes", "evaluation layouts per policy"),
        ("rounds", "DAgger rounds"),
        ("dagger_episodes", "rollouts per HG-DAgger round"),
        ("steps", "round 0's training steps"),
        ("round_steps", "training steps of each later round, continuing the last model"),
        ("batch_size", "training batch size"),
        ("correction_weight", "times each correction segment is written (oversampling)"),
        ("seed", "seed of it all"),
    ):
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=None,
            help=f"{text} (default {getattr(defaults, name)})",
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
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args, ["demo", *args.raw_argv])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiwi", description="Kiwi: teach LeKiwi by demonstration.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_commands(sub)
    p = sub.add_parser("convert", help="episode bags (rosbag2 MCAP) -> LeRobotDataset v3")
    p.add_argument("bags", nargs="*", type=Path, help="bag folders, or folders of them")
    p.add_argument("--out", type=Path, required=True, help="new dataset folder")
    p.add_argument("--fps", type=float, default=None, help="frame rate (default: the mapping's, 30)")
    p.add_argument("--repo-id", default="kiwi/lekiwi", help="dataset repo id (local only)")
    p.add_argument("--mapping", type=Path, default=None, help="mapping JSON (default: LeRobot's LeKiwi)")
    p.add_argument("--no-videos", action="store_true", help="store images as PNG instead of MP4")
    p.add_argument(
        "--vcodec",
        choices=("h264", "hevc", "libsvtav1"),
        default=None,
        help="video codec (default h264: fast on a CPU; libsvtav1: LeRobot's default, smaller, slower)",
    )
    p.add_argument(
        "--preset",
        default=None,
        help="codec preset (default ultrafast for h264; libsvtav1: 0-13, LeRobot uses 12)",
    )
    p.add_argument(
        "--crf", type=int, default=None, help="quality: lower is better and larger (default 30, LeRobot's)"
    )
    p.add_argument(
        "--lerobot-video",
        action="store_true",
        help="LeRobot's own writer settings (AV1, PNG files first), e.g. for comparison",
    )
    p.add_argument("--verbose", action="store_true", help="show the encoders' own output")
    p.add_argument(
        "--image-size",
        type=_image_size,
        default=None,
        metavar="HxW",
        help="store every camera at this size (e.g. 96x96 for CPU training; Diffusion needs one size)",
    )
    p.add_argument(
        "--state-only",
        action="store_true",
        help="no cameras; the cube and obstacle relative to the robot from the sim's ground truth",
    )
    p.add_argument(
        "--corrections",
        nargs="+",
        type=Path,
        default=[],
        metavar="BAGS",
        help="human-gated DAgger runs: only their intervention segments become episodes",
    )
    p.add_argument(
        "--correction-weight",
        type=int,
        default=1,
        metavar="K",
        help="write each correction segment K times (oversampling: K times the weight of a demo frame)",
    )
    p.add_argument(
        "--min-segment-frames",
        type=int,
        default=3,
        metavar="N",
        help="drop correction segments shorter than N frames (e.g. the policy's chunk size)",
    )
    p.set_defaults(func=_cmd_convert)
    p = sub.add_parser("train", help="train a LeRobot policy on a dataset, offline, with CPU-sized defaults")
    p.add_argument("dataset", type=Path, help="LeRobotDataset folder (from kiwi convert)")
    p.add_argument(
        "--policy", default="act", help="policy type: act, diffusion or kiwi_mlp (state-only datasets)"
    )
    p.add_argument("--out", type=Path, default=None, help="new output folder (default: data/models/<policy>)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=1000)
    p.set_defaults(func=_cmd_train)
    p.epilog = "More lerobot-train arguments go after --, e.g. -- --policy.chunk_size=50"
    _add_demo_parser(sub)
    add_viz_parser(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough = []
    if "--" in argv:  # everything after -- goes to lerobot-train untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args, unknown = parser.parse_known_args(argv)
    if take_late_assignments(args, unknown):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.lerobot_args = passthrough
    args.raw_argv = argv[1:]
    if args.command == "train":
        from kiwi_policy.checkpoint import models_root

        args.out = args.out or models_root() / args.policy
    return run_command("kiwi", args)


if __name__ == "__main__":
    sys.exit(main())
