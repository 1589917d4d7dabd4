"""`kiwi viz BAG_OR_DATASET`: a bag (finished, unfinished, or not one) and a dataset episode shown
in a .rrd file, read back with Rerun's reader."""

import math

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from rclpy.serialization import serialize_message
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from kiwi_common.features import ENVIRONMENT_STATE, INTERVENTION, Mapping, environment_vector
from kiwi_common.task import TASK
from kiwi_description import constants as c
from kiwi_recorder.bag import EpisodeBag
from kiwi_viz.cli import main as kiwi
from kiwi_viz.replay import dead_reckoning
from kiwi_viz.viewer import recorded_entities


def _write_bag(path, ticks=30, finish=True):
    bag = EpisodeBag(
        path,
        {
            "/joint_states": "sensor_msgs/msg/JointState",
            "/odom": "nav_msgs/msg/Odometry",
            "/intervention": "std_msgs/msg/Bool",
        },
    )
    for i in range(ticks):
        t = i * 33_000_000
        state = JointState(
            name=list(c.ALL_JOINTS),
            position=[0.01 * i] * len(c.ALL_JOINTS),
            velocity=[1.0] * len(c.ALL_JOINTS),
        )
        odom = Odometry()
        odom.pose.pose.position.x, odom.pose.pose.orientation.w = 0.02 * i, 1.0
        bag.write("/joint_states", t, serialize_message(state))
        bag.write("/odom", t, serialize_message(odom))
        bag.write("/intervention", t, serialize_message(Bool(data=i > 15)))
    if finish:
        bag.close()
    else:
        bag.flush()  # as a killed recorder leaves it: no metadata.yaml, no summary
    return path


def test_a_bag_replays_into_an_rrd(tmp_path):
    bag = _write_bag(tmp_path / "episode_0000")
    out = tmp_path / "bag.rrd"
    assert kiwi(["viz", str(bag), "--viewer", str(out)]) == 0
    paths = recorded_entities(out)
    assert {
        "/joints/arm_elbow_flex/measured",
        "/base/x.vel/measured",
        "/map/robot/odom",
        "/map/path/odom",
    } <= paths
    assert "/status/intervention" in paths


def test_an_unfinished_bag_is_recovered_and_shown(tmp_path):
    bag = _write_bag(tmp_path / "episode_0001", finish=False)
    out = tmp_path / "unfinished.rrd"
    assert kiwi(["viz", str(bag), "--viewer", str(out)]) == 0
    assert "/map/robot/odom" in recorded_entities(out)


def test_what_is_not_a_recording_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.mcap").write_bytes(b"not an mcap file at all")
    assert kiwi(["viz", str(tmp_path / "junk"), "--viewer", str(tmp_path / "j.rrd")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("kiwi viz: ") and "MCAP" in err and "\n" not in err
    assert not (tmp_path / "j.rrd").exists(), "a source that cannot be read writes nothing"
    assert kiwi(["viz", str(tmp_path / "missing"), "--viewer", str(tmp_path / "m.rrd")]) == 1
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "m.rrd").exists()
    assert kiwi(["viz", str(tmp_path / "junk"), "--viewer", "nowhere"]) == 1
    assert "expected web, native" in capsys.readouterr().err


def test_dead_reckoning_follows_a_circle():
    # 0.1 m/s forward turning at 10 deg/s: after 36 s, one full circle of radius 0.1 / (pi / 18).
    fps, seconds = 30.0, 36.0
    states = np.zeros((int(fps * seconds) + 1, 9), np.float32)
    states[:, -3], states[:, -1] = 0.1, 10.0
    poses = dead_reckoning(states, fps)
    radius = 0.1 / math.radians(10.0)
    assert np.hypot(poses[:, 0], poses[:, 1] - radius) == pytest.approx(radius, abs=0.005)
    assert poses[-1, :2] == pytest.approx([0.0, 0.0], abs=0.01)


@pytest.fixture
def state_only_dataset(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    mapping = Mapping().state_only()
    root = tmp_path / "dataset"
    dataset = LeRobotDataset.create("kiwi/viz_test", 30, mapping.features(False), root=root, use_videos=False)
    for episode in range(2):
        for i in range(20):
            dataset.add_frame(
                {
                    "observation.state": np.full(9, 0.1 * i, np.float32),
                    ENVIRONMENT_STATE: environment_vector((0, 0, 0), (1.0, 0.0, 0.015), 0.0, (0.5, 0.0)),
                    "action": np.full(9, 0.2 * i, np.float32),
                    INTERVENTION: np.array([float(episode == 1 and i >= 10)], np.float32),
                    "task": TASK,
                }
            )
        dataset.save_episode()
    dataset.finalize()
    return root


def test_a_dataset_episode_replays_into_an_rrd(state_only_dataset, tmp_path, capsys):
    out = tmp_path / "ds.rrd"
    assert kiwi(["viz", str(state_only_dataset), "--episode", "1", "--viewer", str(out)]) == 0
    assert "20 frames" in capsys.readouterr().out
    paths = recorded_entities(out)
    expected = {
        "/joints/arm_gripper/measured",
        "/joints/arm_gripper/command",
        "/base/y.vel/command",
        "/map/robot/odom",
        "/map/cube",
        "/map/obstacle",
        "/status/intervention",
        "/status/takeovers",  # the correction's start is marked
    }
    assert expected <= paths, expected - paths
    assert kiwi(["viz", str(state_only_dataset), "--episode", "2", "--viewer", str(tmp_path / "x.rrd")]) == 1
    assert "no episode 2" in capsys.readouterr().err


def test_a_dataset_with_videos_shows_its_camera_frames(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    mapping = Mapping().with_image_size(24, 32)
    root = tmp_path / "images"
    dataset = LeRobotDataset.create("kiwi/viz_images", 30, mapping.features(True), root=root, use_videos=True)
    rng = np.random.default_rng(0)
    for _ in range(6):
        dataset.add_frame(
            {
                "observation.state": np.zeros(9, np.float32),
                "action": np.zeros(9, np.float32),
                INTERVENTION: np.zeros(1, np.float32),
                **{
                    f"observation.images.{cam}": rng.integers(0, 255, (24, 32, 3), np.uint8)
                    for cam in c.CAMERAS
                },
                "task": TASK,
            }
        )
    dataset.save_episode()
    dataset.finalize()
    out = tmp_path / "images.rrd"
    assert kiwi(["viz", str(root), "--viewer", str(out)]) == 0
    assert {f"/camera/{cam}" for cam in c.CAMERAS} <= recorded_entities(out)
