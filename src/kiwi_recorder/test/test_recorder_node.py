"""The recorder node over DDS: it refuses an episode while a stream every frame needs is silent,
and an episode it starts holds the cameras from its first frame (its subscriptions are kept)."""

import sys

import pytest

from kiwi_recorder.bag import open_reader

pytestmark = pytest.mark.integration
JOINTS = "/joint_states"
CAMERAS = ("/camera/front/image_raw/compressed", "/camera/wrist/image_raw/compressed")


def call(probe, client, timeout=10.0):
    from std_srvs.srv import Trigger

    assert client.wait_for_service(timeout_sec=timeout), client.srv_name
    future = client.call_async(Trigger.Request())
    assert probe.spin_until(future.done, timeout), f"{client.srv_name} did not answer"
    return future.result()


def first_stamps(bag) -> dict[str, int]:
    reader = open_reader(bag)
    first: dict[str, int] = {}
    for conn, log_time, _ in reader.messages():
        first.setdefault(conn.topic, log_time)
    reader.close()
    return first


def test_start_waits_for_the_streams_and_keeps_its_subscriptions(tmp_path, start_nodes, ros_probe):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import CompressedImage, JointState
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger
    from trajectory_msgs.msg import JointTrajectory

    start_nodes(
        [sys.executable, "-m", "kiwi_recorder.recorder_node", "--ros-args", "-p", f"out_dir:={tmp_path}"]
    )
    node = ros_probe.node

    # Every mapping topic exists (so start does not wait for discovery), but the cameras are silent.
    joints = node.create_publisher(JointState, JOINTS, 10)
    cameras = [node.create_publisher(CompressedImage, topic, 10) for topic in CAMERAS]
    node.create_publisher(JointTrajectory, "/arm/command", 10)
    node.create_publisher(Twist, "/cmd_vel", 10)
    node.create_publisher(Bool, "/intervention", 10)
    streaming = {"cameras": False}

    def tick():
        joints.publish(JointState(name=["shoulder_pan"], position=[0.0]))
        if streaming["cameras"]:
            for pub in cameras:
                pub.publish(CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xd9"))

    node.create_timer(1 / 30, tick)
    start, save = (node.create_client(Trigger, f"/recorder/{name}") for name in ("start", "save"))
    assert start.wait_for_service(timeout_sec=30), "no recorder"
    ros_probe.spin_for(2.0)  # it looks for new topics every second: it subscribes to all by now
    refused = call(ros_probe, start)
    assert not refused.success
    assert "nothing in the last 1 s on" in refused.message and all(t in refused.message for t in CAMERAS)
    assert not list(tmp_path.glob("episode_*")), "a refused start writes no episode"

    streaming["cameras"] = True
    ros_probe.spin_for(0.5)
    for episode in range(2):
        started = call(ros_probe, start)
        assert started.success, started.message
        ros_probe.spin_for(0.5)
        assert call(ros_probe, save).success
        first = first_stamps(tmp_path / f"episode_{episode:04d}")
        # The cameras were flowing when the episode began: each is in the bag within two frames of
        # the joint states (a new subscription would first wait for discovery).
        for topic in CAMERAS:
            assert topic in first, (episode, sorted(first))
            assert abs(first[topic] - first[JOINTS]) < 2 / 30 * 1e9, (episode, topic, first)
