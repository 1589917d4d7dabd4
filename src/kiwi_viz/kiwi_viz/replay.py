"""A recorded episode shown as the live graph is: a rosbag2 episode bag through the live node's
message feed, or an episode of a Kiwi LeRobot dataset (its images, state, action, the
intervention flag and, for a state-only dataset, the cube and obstacle)."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

import numpy as np

from kiwi_common.dataset_check import DatasetError, read_episodes, read_metadata
from kiwi_common.features import ENVIRONMENT_NAMES, ENVIRONMENT_STATE, INTERVENTION
from kiwi_common.native_output import native_stderr_hidden
from kiwi_recorder.bag import BagError, deserialize, open_reader, readable_bag

from .feed import MessageFeed
from .scene import Scene, in_frame


class ReplayError(ValueError):
    pass


def is_dataset(path: Path) -> bool:
    return (Path(path) / "meta" / "info.json").is_file()


def check_source(path: Path) -> str:
    """'dataset' or 'bag' for what is at `path`; anything else raises, naming it."""
    path = Path(path)
    if not path.exists():
        raise ReplayError(f"{path} does not exist")
    if is_dataset(path):
        return "dataset"
    if list(path.glob("*.mcap")):
        return "bag"
    raise ReplayError(f"{path} is neither an episode bag (*.mcap) nor a LeRobot dataset (meta/info.json)")


def replay(path: Path, scene: Scene, episode: int = 0) -> int:
    """Show the bag or dataset episode at `path`; returns the number of frames or messages shown."""
    if check_source(path) == "dataset":
        return replay_dataset(Path(path), episode, scene)
    return replay_bag(Path(path), scene)


def replay_bag(path: Path, scene: Scene) -> int:
    """Every message of the bag through the live node's feed, at its recorded time. A damaged bag
    (its recorder was killed, its file cut short) is recovered into a scratch folder first."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            readable, warning = readable_bag(path, Path(scratch))
            reader = open_reader(readable)
        except (BagError, OSError) as exc:
            raise ReplayError(str(exc)) from exc
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        feed = MessageFeed(scene, image_hz=0.0)
        shown = 0
        try:
            with native_stderr_hidden():  # rmw's own line on a message it cannot decode
                for connection, stamp_ns, data in reader.messages():
                    try:
                        msg = deserialize(data, connection.msgtype)
                    except Exception:  # a message cut or corrupted: count it, show the rest
                        feed.skipped[connection.topic.lstrip("/")] += 1
                        continue
                    shown += feed.handle(connection.topic, msg, stamp_ns * 1e-9)
        except Exception as exc:  # rosbags raises several types for a damaged chunk or record
            raise ReplayError(f"{path}: cannot read the bag past {shown} messages: {exc}") from exc
        finally:
            reader.close()
    if not shown:
        raise ReplayError(f"{path}: no message Kiwi can show (topics: none of the robot's)")
    return shown


def dead_reckoning(states: np.ndarray, fps: float) -> np.ndarray:
    """(N, 3) poses (x, y, yaw) integrated from the measured body twist in `observation.state`
    (x.vel, y.vel m/s; theta.vel deg/s), from the origin: what odometry does."""
    vx, vy, wz = states[:, -3], states[:, -2], np.radians(states[:, -1])
    poses = np.zeros((len(states), 3))
    x = y = yaw = 0.0
    dt = 1.0 / fps
    for i in range(len(states)):
        poses[i] = x, y, yaw
        x += (vx[i] * math.cos(yaw) - vy[i] * math.sin(yaw)) * dt
        y += (vx[i] * math.sin(yaw) + vy[i] * math.cos(yaw)) * dt
        yaw += wz[i] * dt
    return poses


def replay_dataset(root: Path, episode: int, scene: Scene) -> int:
    """Frames of one episode of the Kiwi dataset at `root` (LeRobot's reader, videos decoded)."""
    try:
        meta = read_metadata(root)
        if not 0 <= episode < meta.total_episodes:
            raise ReplayError(f"{root} has episodes 0..{meta.total_episodes - 1}; no episode {episode}")
        dataset = read_episodes(root, [episode])
        table = dataset.hf_dataset.with_format("numpy")
    except DatasetError as exc:
        raise ReplayError(str(exc)) from exc
    states, actions = np.stack(table["observation.state"]), np.stack(table["action"])
    flags = np.asarray(table[INTERVENTION]).reshape(-1) if INTERVENTION in table.column_names else None
    environment = np.stack(table[ENVIRONMENT_STATE]) if ENVIRONMENT_STATE in table.column_names else None
    cameras = list(meta.camera_keys)
    poses = dead_reckoning(states, meta.fps)
    times = np.asarray(table["timestamp"]).reshape(-1)
    for i, t in enumerate(times):
        scene.at(float(t))
        scene.state(states[i])
        scene.action(actions[i])
        scene.robot_pose("odom", *poses[i])
        if flags is not None:
            scene.intervention(bool(flags[i] > 0.5))
            if flags[i] > 0.5 and (i == 0 or flags[i - 1] <= 0.5):
                scene.takeover("correction starts")
        if environment is not None:
            _environment(scene, poses[i], environment[i])
        if cameras:
            item = dataset[i]
            for key in cameras:
                image = item[key].numpy()  # (C, H, W) float 0..1
                scene.image(key.removeprefix("observation.images."), (image.transpose(1, 2, 0) * 255).round())
    return len(times)


def _environment(scene: Scene, pose, values) -> None:
    """Cube and obstacle from `observation.environment_state` (robot frame) onto the map."""
    env = dict(zip(ENVIRONMENT_NAMES, values))
    ((cx, cy),) = in_frame(pose, [(env["cube.x"], env["cube.y"])])
    scene.cube(cx, cy, env["cube.z"], pose[2] + math.atan2(env["cube.yaw4_sin"], env["cube.yaw4_cos"]) / 4)
    if env["obstacle.present"] > 0.5:
        ((ox, oy),) = in_frame(pose, [(env["obstacle.x"], env["obstacle.y"])])
        scene.obstacle(ox, oy)  # square to the world's axes, as the task places it
