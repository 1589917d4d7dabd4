"""The pure parts of the viewer (paths, frames, values) and what a Scene writes, read back with
Rerun's reader; the message feed with real ROS message classes."""

import math

import numpy as np
import pytest
import rerun as rr
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from sensor_msgs.msg import CompressedImage, JointState
from std_msgs.msg import Bool, String

from kiwi_description import constants as c
from kiwi_viz.feed import MessageFeed
from kiwi_viz.scene import MAX_PATH_POINTS, PATH_STEP_M, Path2D, Scene, in_frame, numeric
from kiwi_viz.viewer import recorded_entities


def test_path_keeps_a_point_per_step_moved_and_drops_the_oldest():
    path = Path2D()
    assert path.add(0.0, 0.0)
    assert not path.add(PATH_STEP_M / 2, 0.0)  # too close: the same point
    assert path.add(PATH_STEP_M * 1.5, 0.0)
    for i in range(MAX_PATH_POINTS + 10):
        path.add(1.0 + i * PATH_STEP_M * 2, 0.0)
    assert len(path.points) == MAX_PATH_POINTS
    assert path.points[-1][0] == pytest.approx(1.0 + (MAX_PATH_POINTS + 9) * PATH_STEP_M * 2)


def test_a_jump_starts_a_new_path():
    path = Path2D()
    for i in range(10):
        path.add(0.1 * i, 0.0)
    assert path.add(0.0, 0.0) and path.points == [(0.0, 0.0)], "back at the start: the sim was reset"


def test_a_robots_unix_time_and_sim_time_both_log(recording):
    rec, path = recording
    scene = Scene(rec)
    scene.at(1_796_000_000.5)  # a robot's clock
    scene.intervention(True)
    rec.flush()
    assert "/status/intervention" in recorded_entities(path)


def test_points_in_a_turned_frame():
    # A point 1 m ahead of a robot at (1, 2) facing +y is at (1, 3).
    assert in_frame((1.0, 2.0, math.pi / 2), [(1.0, 0.0)]) == pytest.approx(np.array([[1.0, 3.0]]))


def test_numeric_values_only():
    assert numeric("12.5") == 12.5
    assert numeric("none") is None
    assert numeric("nan") is None


@pytest.fixture
def recording(tmp_path):
    rec = rr.RecordingStream("kiwi_test")
    path = tmp_path / "scene.rrd"
    rec.save(str(path))
    yield rec, path


def _joint_state(positions=0.1):
    return JointState(
        name=list(c.ALL_JOINTS),
        position=[positions] * len(c.ALL_JOINTS),
        velocity=[0.0] * len(c.ALL_JOINTS),
    )


def _pose(x, y, z=0.0):
    msg = PoseStamped()
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = x, y, z
    msg.pose.orientation.w = 1.0
    return msg


def test_feed_shows_each_topic_and_counts_what_it_cannot(recording):
    rec, path = recording
    feed = MessageFeed(Scene(rec), image_hz=10.0)
    odom = Odometry()
    odom.pose.pose.orientation.w = 1.0
    status = DiagnosticStatus(
        level=b"\x00",
        name="policy: policy",
        message="driving",
        values=[KeyValue(key="inference_ms_p50", value="12.0")],
    )
    planned = Path(poses=[_pose(0.1 * i, 0.0) for i in range(5)])
    image = CompressedImage(format="rgb8; jpeg compressed bgr8", data=b"\xff\xd8\xff\xd9")
    shown = [
        feed.handle("/joint_states", _joint_state(), 0.0),
        feed.handle("arm/command", JointState(name=["arm_gripper"], position=[0.2]), 0.0),
        feed.handle("cmd_vel", Twist(), 0.0),
        feed.handle("odom", odom, 0.0),
        feed.handle("sim/ground_truth/robot", odom, 0.0),
        feed.handle("sim/ground_truth/cube", _pose(1.0, 0.0, 0.015), 0.0),
        feed.handle("sim/ground_truth/obstacle", _pose(0.5, 0.0, 0.06), 0.0),
        feed.handle("policy/planned_path", planned, 0.0),
        feed.handle("intervention", Bool(data=True), 0.0),
        feed.handle("expert/takeover_reason", String(data="contact"), 0.0),
        feed.handle("diagnostics", DiagnosticArray(status=[status]), 0.0),
        feed.handle("camera/front/image_raw/compressed", image, 0.0),
    ]
    assert all(shown)
    # Images are thinned to image_hz; an unknown topic and a JointState without the arm are not shown.
    assert not feed.handle("camera/front/image_raw/compressed", image, 0.05)
    assert feed.handle("camera/front/image_raw/compressed", image, 0.1)
    assert not feed.handle("some/other/topic", Bool(), 0.2)
    assert not feed.handle("joint_states", JointState(name=["x"], position=[0.0], velocity=[0.0]), 0.2)
    assert not feed.handle("camera/wrist/image_raw/compressed", CompressedImage(format="png"), 0.2)
    assert feed.skipped == {"joint_states": 1, "camera/wrist/image_raw/compressed": 1}
    rec.flush()
    paths = recorded_entities(path)
    expected = {
        "/camera/front",
        "/map/robot/odom",
        "/map/robot/ground_truth",
        "/map/path/odom",
        "/map/cube",
        "/map/obstacle",
        "/map/planned_path",
        "/joints/arm_elbow_flex/measured",
        "/joints/arm_gripper/command",
        "/base/x.vel/measured",
        "/base/theta.vel/command",
        "/status/intervention",
        "/status/takeovers",
        "/diagnostics/policy__policy/inference_ms_p50",
        "/diagnostics/log",
    }
    assert expected <= paths, expected - paths


def test_an_obstacle_parked_under_the_floor_is_not_drawn(recording):
    rec, path = recording
    feed = MessageFeed(Scene(rec))
    assert feed.handle("sim/ground_truth/obstacle", _pose(0.0, 0.0, -1.0), 0.0)
    rec.flush()
    assert "/map/obstacle" not in recorded_entities(path)


@pytest.fixture
def logged(recording, monkeypatch):
    """A scene, and the entity of every log call it makes (still written to the recording)."""
    rec, _ = recording
    scene, entities = Scene(rec), []
    log = rec.log
    monkeypatch.setattr(rec, "log", lambda entity, *a, **k: (entities.append(entity), log(entity, *a, **k)))
    return scene, entities


def test_diagnostic_log_only_on_change(logged):
    scene, logged = logged
    for message in ("driving", "driving", "dry: holding position", "dry: holding position"):
        scene.diagnostic("policy: policy", 1, message, {"chunk_age_s": "0.1"})
    assert logged.count("diagnostics/log") == 2
    assert logged.count("diagnostics/policy__policy/chunk_age_s") == 4


def test_the_map_is_thinned_in_time_and_still_objects_drawn_once(logged):
    scene, logged = logged
    for tick in range(30):  # one second at 30 Hz, the robot driving at 0.3 m/s
        scene.at(tick / 30)
        scene.robot_pose("odom", 0.01 * tick, 0.0, 0.0)
        scene.cube(1.0, 0.0, 0.015)
    assert 9 <= logged.count("map/robot/odom") <= 11, "about every MAP_PERIOD_S"
    assert logged.count("map/cube") == 1, "a cube standing still is drawn once"
    scene.at(1.5)
    scene.cube(1.0, 0.0, 0.05)  # lifted
    scene.at(2.0)
    scene.at(8.0)
    scene.cube(1.0, 0.0, 0.05)  # still, but drawn again after a while (a late viewer's server)
    assert logged.count("map/cube") == 3
