"""Bags -> LeRobotDataset v3, written through LeRobot's own dataset writer.

Each bag becomes one episode, resampled to `fps` on a fixed grid: every stream is taken "as of"
each frame time (the newest message stamped at or before it). Stamps are the header stamps where
a message has one, else the bag's receive time. The grid starts when the joint states and every
camera have a first message and ends at the earliest last message among them. Values follow the
mapping (LeRobot's LeKiwi units). All bags are read and checked before anything is written, and
the dataset is written to a temporary folder renamed at the end, so a bad bag converts nothing.
"""

from __future__ import annotations

import math
import shutil
import sys
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kiwi_common.features import (
    ENVIRONMENT_STATE,
    INTERVENTION,
    MAPPING_FILE,
    Mapping,
    action_vector,
    ground_truth_observation,
    image_feature,
    joint_state_observation,
)
from kiwi_common.images import decode_image
from kiwi_common.native_output import native_stderr_hidden
from kiwi_common.normalization import floor_dataset_stats
from kiwi_common.stamps import stamp_seconds
from kiwi_description import constants as c

from .bag import BagError, custom_data, deserialize, open_reader, readable_bag

if TYPE_CHECKING:
    from .video import VideoSettings

STAMP_TOLERANCE = 1e-6  # s
MIN_SEGMENT_FRAMES = 3  # shorter interventions are blips of the gate, not corrections
MERGE_GAP_FRAMES = 5  # interventions this close together are one correction (a hand-back undone)
CMD_TIMEOUT_S = c.CMD_TIMEOUT_S  # the driver stops the base after this; so does the recorded action
DECODE_THREADS = (
    2  # JPEG decoding beside the writer (this machine has 2 cores; encoders have their own threads)
)
DECODE_AHEAD = 16  # frames decoded ahead: enough to keep the writer fed, little memory


class ConvertError(RuntimeError):
    pass


@dataclass
class Stream:
    stamps: np.ndarray  # seconds, sorted
    values: list

    def asof(self, times: np.ndarray) -> np.ndarray:
        """Index of the newest message at or before each time (-1: none yet). Stamps within
        STAMP_TOLERANCE after a frame time count as at it: grid times are sums of floats, stamps
        are rounded nanoseconds, and a message stamped on the tick must not fall to the next frame."""
        return np.searchsorted(self.stamps, times + STAMP_TOLERANCE, side="right") - 1

    def asof_values(self, times: np.ndarray) -> list:
        """The message as of each time (the stream starts at or before the first one)."""
        return [self.values[i] for i in self.asof(times)]


def frame_times(start: float, end: float, fps: float) -> np.ndarray:
    """The fixed grid start, start + 1/fps, ... up to end."""
    if end < start:
        return np.zeros(0)
    count = int(math.floor((end - start) * fps + 1e-6)) + 1
    return start + np.arange(count) / fps


def _stamp(msg, log_time_ns: int) -> float:
    header = getattr(msg, "header", None)
    if header is not None and (header.stamp.sec or header.stamp.nanosec):
        return stamp_seconds(header.stamp)
    return log_time_ns * 1e-9


@dataclass
class Episode:
    path: Path
    task: str
    times: np.ndarray
    state: np.ndarray
    action: np.ndarray
    intervention: np.ndarray
    images: dict[str, list]  # camera -> per frame: the message holding that frame
    environment: np.ndarray | None = None  # `observation.environment_state` per frame, if mapped

    def segment(self, start: int, stop: int) -> Episode:
        """Frames start..stop-1 as an episode of their own."""
        return Episode(
            self.path,
            self.task,
            self.times[start:stop],
            self.state[start:stop],
            self.action[start:stop],
            self.intervention[start:stop],
            {cam: msgs[start:stop] for cam, msgs in self.images.items()},
            None if self.environment is None else self.environment[start:stop],
        )


def intervention_segments(flags: np.ndarray, min_frames: int, merge_gap: int = 0) -> list[tuple[int, int]]:
    """(start, stop) of each run of intervention frames, runs at most `merge_gap` frames apart
    merged into one, kept when at least `min_frames` long."""
    on = np.concatenate([[False], np.asarray(flags).reshape(-1) > 0.5, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1])
    runs: list[list[int]] = []
    for a, b in zip(edges[::2], edges[1::2]):
        if runs and a - runs[-1][1] <= merge_gap:
            runs[-1][1] = int(b)
        else:
            runs.append([int(a), int(b)])
    return [(a, b) for a, b in runs if b - a >= min_frames]


def _read_streams(path: Path, mapping: Mapping) -> tuple[dict[str, Stream], dict[str, str]]:
    try:
        reader = open_reader(path)
    except BagError as exc:
        raise ConvertError(str(exc)) from exc
    try:
        with native_stderr_hidden():  # rmw's own line on a message it cannot decode; ours names it
            metadata, raw = _raw_messages(path, reader, mapping)
    except BagError as exc:
        raise ConvertError(str(exc)) from exc
    except ConvertError:
        raise
    except Exception as exc:  # corrupt chunks and the like surface here
        raise ConvertError(f"{path}: cannot read the bag: {exc}") from exc
    finally:
        reader.close()
    streams = {}
    for topic, items in raw.items():
        items.sort(key=lambda item: item[0])
        streams[topic] = Stream(np.array([s for s, _ in items]), [m for _, m in items])
    return streams, metadata


def _raw_messages(path: Path, reader, mapping: Mapping) -> tuple[dict[str, str], dict[str, list]]:
    """The bag's custom data and (stamp, message) of each message on the mapping's topics."""
    metadata = custom_data(path)
    wanted = set(mapping.topics())
    connections = [conn for conn in reader.connections if conn.topic in wanted]
    raw: dict[str, list] = {t: [] for t in wanted}
    for conn, log_time, data in reader.messages(connections=connections):
        try:
            msg = deserialize(data, conn.msgtype)
        except Exception as exc:
            raise ConvertError(f"{path}: a message on {conn.topic} cannot be decoded: {exc}") from exc
        raw[conn.topic].append((_stamp(msg, log_time), msg))
    return metadata, raw


def read_episode(path: Path, mapping: Mapping, fps: float) -> Episode:
    streams, metadata = _read_streams(path, mapping)
    required = mapping.streams()
    missing = [t for t in required if not len(streams[t].stamps)]
    if missing:
        raise ConvertError(
            f"{path}: no messages on {', '.join(missing)}, which the mapping reads (topics in the bag: "
            f"{', '.join(t for t, s in streams.items() if len(s.stamps)) or 'none'})"
        )
    start = max(streams[t].stamps[0] for t in required)
    end = min(streams[t].stamps[-1] for t in required)
    times = frame_times(start, end, fps)
    if len(times) < 2:
        raise ConvertError(f"{path}: {', '.join(required)} overlap for less than two frames")

    joints = streams[mapping.state_topic]
    states, presents = [], []
    for i in joints.asof(times):
        msg = joints.values[i]
        try:
            state, arm = joint_state_observation(msg.name, msg.position, msg.velocity)
        except KeyError as exc:
            raise ConvertError(f"{path}: {mapping.state_topic} lacks joint {exc}") from exc
        states.append(state)
        presents.append(arm)

    actions = _actions(streams[mapping.arm_command_topic], streams[mapping.cmd_vel_topic], times, presents)
    flags = streams[mapping.intervention_topic]
    idx = flags.asof(times)
    intervention = np.array([[float(flags.values[i].data) if i >= 0 else 0.0] for i in idx], dtype=np.float32)
    images = {cam: streams[topic].asof_values(times) for cam, topic in mapping.cameras.items()}
    environment = None
    if mapping.ground_truth:
        robot, cube, obstacle = (
            streams[mapping.ground_truth[k]].asof_values(times) for k in ("robot", "cube", "obstacle")
        )
        environment = np.stack([ground_truth_observation(*msgs) for msgs in zip(robot, cube, obstacle)])
    return Episode(
        path,
        metadata.get("task", "") or "",
        times,
        np.stack(states),
        actions,
        intervention,
        images,
        environment,
    )


def _actions(arm_cmds: Stream, twists: Stream, times: np.ndarray, presents: list[dict]) -> np.ndarray:
    """Action per frame: arm targets held per joint (the present position before any command),
    and the last twist, zero once older than the driver's command timeout."""
    out = []
    targets: dict[str, float] = {}
    next_cmd = 0
    twist_idx = twists.asof(times)
    for k, t in enumerate(times):
        while next_cmd < len(arm_cmds.stamps) and arm_cmds.stamps[next_cmd] <= t + STAMP_TOLERANCE:
            msg = arm_cmds.values[next_cmd]
            targets.update({n: p for n, p in zip(msg.name, msg.position) if n in c.ARM_JOINTS})
            next_cmd += 1
        arm = presents[k] | targets
        i = twist_idx[k]
        if i >= 0 and t - twists.stamps[i] <= CMD_TIMEOUT_S:
            m = twists.values[i]
            m = getattr(m, "twist", m)  # TwistStamped or Twist
            twist = (m.linear.x, m.linear.y, m.angular.z)
        else:
            twist = (0.0, 0.0, 0.0)
        out.append(action_vector(arm, twist))
    return np.stack(out)


def _decoded_images(episode: Episode, mapping: Mapping, pool: ThreadPoolExecutor):
    """Each frame's camera images, decoded up to DECODE_AHEAD frames ahead on `pool` (OpenCV
    releases the GIL) while the writer and the encoders work, in frame order."""

    def decode(k: int) -> dict:
        return {
            image_feature(cam): decode_image(msgs[k], mapping.image_shapes[cam])
            for cam, msgs in episode.images.items()
        }

    n = len(episode.times)
    pending = deque(pool.submit(decode, k) for k in range(min(DECODE_AHEAD, n)))
    for k in range(n):
        images = pending.popleft().result()
        if k + DECODE_AHEAD < n:
            pending.append(pool.submit(decode, k + DECODE_AHEAD))
        yield images


def find_bags(path: Path) -> list[Path]:
    """A bag folder itself, or the bag folders inside a folder of episodes (sorted)."""
    path = Path(path)
    if not path.is_dir():
        raise ConvertError(f"{path}: not a bag folder" + ("" if path.exists() else " (it does not exist)"))
    if any(path.glob("*.mcap")):
        return [path]
    children = sorted(d for d in path.iterdir() if d.is_dir() and any(d.glob("*.mcap")))
    if not children:
        raise ConvertError(f"{path}: no episode bag in it (no .mcap file in it or in its folders)")
    return children


def _prepare(bags: list[Path], workdir: Path) -> list[Path]:
    """Bag folders ready to read: damaged ones (a recorder killed, a file cut short) are recovered
    into workdir up to their last complete message, with a warning line each."""
    ready = []
    for index, bag in enumerate(bags):
        if not bag.is_dir():
            raise ConvertError(
                f"{bag}: not a bag folder" + (" (it does not exist)" if not bag.exists() else "")
            )
        try:
            readable, warning = readable_bag(bag, workdir / f"{index:04d}")
        except (BagError, OSError) as exc:
            raise ConvertError(str(exc)) from exc
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        ready.append(readable)
    return ready


def seal_dataset(staging: Path, out: Path, mapping: Mapping) -> None:
    """A finalized dataset written at `staging` made Kiwi's and moved to `out`: its spreads floored
    (normalization.py), its mapping stored beside it (what `kiwi train` and the policy node read)."""
    floor_dataset_stats(staging)
    (staging / "meta" / MAPPING_FILE).write_text(mapping.to_json())
    staging.rename(out)


def convert(
    bags: list[Path],
    out: Path,
    fps: float | None = None,
    repo_id: str = "kiwi/lekiwi",
    mapping: Mapping | None = None,
    use_videos: bool = True,
    default_task: str = "pick up the cube",
    progress: bool = True,
    corrections: list[Path] = (),
    video: VideoSettings | None = None,
    verbose: bool = False,
    correction_weight: int = 1,
    min_segment_frames: int = MIN_SEGMENT_FRAMES,
) -> dict:
    """Convert `bags` (one episode each) into a new dataset at `out`; returns a summary.
    Of the `corrections` bags (human-gated DAgger runs) only the intervention segments are kept,
    each as an episode: the expert's corrections, not the policy's own driving; segments closer than
    MERGE_GAP_FRAMES are one, shorter than `min_segment_frames` none, and each is written
    `correction_weight` times (training samples frames uniformly: a correction frame then weighs
    that many demonstration frames). `video` says how
    cameras are encoded (default: Kiwi's, see video.py); `verbose` lets the encoders' own output through."""
    from tqdm import tqdm

    from .video import KIWI_VIDEO, create_dataset

    out = Path(out)
    if out.exists():
        raise ConvertError(f"{out} exists; give a new folder")
    if not bags and not corrections:
        raise ConvertError("no bags given")
    if correction_weight < 1 or min_segment_frames < 1:
        raise ConvertError("correction_weight and min_segment_frames must be at least 1")
    mapping = mapping or Mapping()
    fps = fps or mapping.fps
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConvertError(f"cannot create {out}: {exc.strerror or exc}") from None
    with tempfile.TemporaryDirectory(prefix="kiwi-convert-") as tmp:
        ready = _prepare([Path(b) for b in bags], Path(tmp))
        ready_corrections = _prepare([Path(b) for b in corrections], Path(tmp) / "corrections")
        episodes = [
            read_episode(b, mapping, fps) for b in tqdm(ready, desc="reading bags", disable=not progress)
        ]
        correction_frames = 0  # each segment once (the effort-matched baseline's budget)
        for bag in tqdm(ready_corrections, desc="reading corrections", disable=not progress):
            episode = read_episode(bag, mapping, fps)
            segments = intervention_segments(episode.intervention, min_segment_frames, MERGE_GAP_FRAMES)
            episodes += [episode.segment(a, b) for a, b in segments for _ in range(correction_weight)]
            correction_frames += sum(b - a for a, b in segments)
        if not episodes:
            raise ConvertError("the bags hold no episode (the corrections no intervention segment)")
        staging = out.with_name(out.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        total = sum(len(e.times) for e in episodes)
        try:
            with (
                native_stderr_hidden(not verbose, "encoder output") as terminal,
                ThreadPoolExecutor(DECODE_THREADS) as decoders,
                tqdm(
                    total=total, desc="writing frames", unit="frame", disable=not progress, file=terminal
                ) as bar,
            ):
                dataset = create_dataset(
                    staging,
                    repo_id,
                    int(round(fps)),
                    mapping.features(use_videos),
                    mapping.robot_type,
                    use_videos,
                    video or KIWI_VIDEO,
                )
                for episode in episodes:
                    task = episode.task or default_task
                    for k, images in enumerate(_decoded_images(episode, mapping, decoders)):
                        frame = {
                            "observation.state": episode.state[k],
                            "action": episode.action[k],
                            INTERVENTION: episode.intervention[k],
                            "task": task,
                        }
                        if episode.environment is not None:
                            frame[ENVIRONMENT_STATE] = episode.environment[k]
                        frame.update(images)
                        dataset.add_frame(frame)
                        bar.update()
                    dataset.save_episode()
                dataset.finalize()
            seal_dataset(staging, out, mapping)
        except OSError as exc:  # a full disk, a folder that went away
            shutil.rmtree(staging, ignore_errors=True)
            raise ConvertError(f"cannot write {out}: {exc}") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return {
        "episodes": len(episodes),
        "frames": total,
        "correction_frames": correction_frames,
        "fps": fps,
        "seconds": float(sum(e.times[-1] - e.times[0] + 1 / fps for e in episodes)),
    }
