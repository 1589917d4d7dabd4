"""The recorder node over DDS: a start says so while a stream every frame needs has not arrived on
a new subscription, refuses once that stream stays silent, and an episode it starts with the
streams flowing holds the cameras from its first frame (its subscriptions are kept)."""

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

    start_nodes(
        [sys.executable, "-m", "kiwi_recorder.recorder_node", "--ros-args", "-p", f"out_dir:={tmp_path}"]
    )
    node = ros_probe.node

    # Every mapping topic exists (so start does not wait for discovery), but the cameras are silent.
    joints = node.create_publisher(JointState, JOINTS, 10)
    cameras = [node.create_publisher(CompressedImage, topic, 10) for topic in CAMERAS]
    node.create_publisher(JointState, "/arm/command", 10)
    node.create_publisher(Twist, "/cmd_vel", 10)
    node.create_publisher(Bool, "/intervention", 10)
    streaming = {"cameras": False}

    def tick():
        joints.publish(JointState(name=["shoulder_pan"], position=[0.0]))
        if streaming["cameras"]:
            for pub in cameras:
                pub.publish(CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xd9"))

    node.create_timer(1 / 30, tick)
    start, save, discard = (
        node.create_client(Trigger, f"/recorder/{name}") for name in ("start", "save", "discard")
    )
    early = call(ros_probe, start)
    assert early.success and "nothing received yet" in early.message, early.message
    assert all(t in early.message.split("nothing received yet")[1] for t in CAMERAS), early.message
    assert call(ros_probe, discard).success

    ros_probe.spin_for(4.0)  # past the discovery grace: silent cameras now are dead cameras
    refused = call(ros_probe, start)
    assert not refused.success
    assert "nothing in the last 1 s on" in refused.message and all(t in refused.message for t in CAMERAS)
    assert JOINTS not in refused.message, refused.message
    assert not list(tmp_path.glob("episode_*")), "a refused or discarded start leaves no episode"

    streaming["cameras"] = True
    ros_probe.spin_for(0.5)
    for episode in range(2):
        started = call(ros_probe, start)
        assert started.success and "nothing" not in started.message, started.message
        ros_probe.spin_for(0.5)
        assert call(ros_probe, save).success
        first = first_stamps(tmp_path / f"episode_{episode:04d}")
        # The cameras were flowing when the episode began: each is in the bag within two frames of
        # the joint states (a new subscription would first wait for discovery).
        for topic in CAMERAS:
            assert topic in first, (episode, sorted(first))
            assert abs(first[topic] - first[JOINTS]) < 2 / 30 * 1e9, (episode, topic, first)
