"""`kiwi convert`: episode bags -> a LeRobotDataset v3 (registered with the `kiwi` command through
the `kiwi.commands` entry point group)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiwi_common.arguments import number_in


def video_settings(args):
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


def run(args) -> int:
    from kiwi_common.features import Mapping, MappingError
    from kiwi_recorder.convert import ConvertError, convert, find_bags

    try:
        bags = [bag for path in args.bags for bag in find_bags(path)]
        corrections = [bag for path in args.corrections for bag in find_bags(path)]
        mapping = Mapping.load(args.mapping) if args.mapping else Mapping()
        if args.state_only:
            mapping = mapping.state_only()
        if args.image_size:
            mapping = mapping.with_image_size(*args.image_size)
        summary = convert(
            bags,
            args.out,
            fps=args.fps,
            repo_id=args.repo_id,
            mapping=mapping,
            use_videos=not args.no_videos,
            corrections=corrections,
            video=video_settings(args),
            verbose=args.verbose,
            correction_weight=args.correction_weight,
            min_segment_frames=args.min_segment_frames,
        )
    except (ConvertError, MappingError) as exc:
        print(f"kiwi convert: {exc}; nothing was written", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out}: {summary['episodes']} episodes, {summary['frames']} frames at {summary['fps']:g} fps"
    )
    return 0


def _image_size(text: str) -> tuple[int, int]:
    from kiwi_common.images import parse_image_size

    try:
        return parse_image_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub) -> None:
    p = sub.add_parser("convert", help="episode bags (rosbag2 MCAP) -> LeRobotDataset v3")
    p.add_argument("bags", nargs="*", type=Path, help="bag folders, or folders of them")
    p.add_argument("--out", type=Path, required=True, help="new dataset folder")
    p.add_argument(
        "--fps",
        type=number_in(float, 0.1, 1000),
        default=None,
        help="frame rate (default: the mapping's, 30)",
    )
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
        "--crf",
        type=number_in(int, 0, 63),
        default=None,
        help="quality: lower is better and larger (default 30, LeRobot's)",
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
        type=number_in(int, 1),
        default=1,
        metavar="K",
        help="write each correction segment K times (oversampling: K times the weight of a demo frame)",
    )
    p.add_argument(
        "--min-segment-frames",
        type=number_in(int, 1),
        default=3,
        metavar="N",
        help="drop correction segments shorter than N frames (e.g. the policy's chunk size)",
    )
    p.set_defaults(func=run)
