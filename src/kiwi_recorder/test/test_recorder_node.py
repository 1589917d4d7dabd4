"""The recorder node over DDS: a start says so while a stream every frame needs has not arrived on
a new subscription, refuses once that stream stays silent, records episodes with the streams from
their start (its subscriptions are kept), and ignores a topic that appears mid-episode."""

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
    joints = node.create_publisher(JointState, JOINTS, 10)
    node.create_publisher(JointState, "/arm/command", 10)
    node.create_publisher(Twist, "/cmd_vel", 10)
    node.create_publisher(Bool, "/intervention", 10)
    cameras, streaming = [], {"cameras": False}

    def tick():
        joints.publish(JointState(name=["shoulder_pan"], position=[0.0]))
        if streaming["cameras"]:
            for pub in cameras:
                pub.publish(CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xd9"))

    node.create_timer(1 / 30, tick)
    start, save, discard = (
        node.create_client(Trigger, f"/recorder/{name}") for name in ("start", "save", "discard")
    )
    assert start.wait_for_service(timeout_sec=60), "no recorder"
    ros_probe.spin_for(1.5)  # the joint states are subscribed and flowing

    # The cameras appear, silent, just before a start: the start finds and subscribes them, records,
    # and says that nothing has come on them yet.
    cameras += [node.create_publisher(CompressedImage, topic, 10) for topic in CAMERAS]
    early = call(ros_probe, start)
    assert early.success and "nothing received yet" in early.message, early.message
    waiting_on = early.message.split("nothing received yet")[1]
    assert all(t in waiting_on for t in CAMERAS) and JOINTS not in waiting_on, early.message
    assert call(ros_probe, discard).success

    ros_probe.spin_for(5.5)  # past the discovery grace: cameras silent now are dead cameras
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
        if episode == 0:
            # A wanted topic that appears mid-episode is subscribed, and not written to this bag.
            gate = node.create_publisher(Bool, "/expert/gate", 10)
            node.create_timer(0.05, lambda pub=gate: pub.publish(Bool(data=True)))
            ros_probe.spin_for(2.0)
        ros_probe.spin_for(0.5)
        saved = call(ros_probe, save)
        assert saved.success, saved.message
        first = first_stamps(tmp_path / f"episode_{episode:04d}")
        # The cameras were flowing when the episode began: each is in the bag from its first frames.
        for topic in CAMERAS:
            assert topic in first, (episode, sorted(first))
            assert abs(first[topic] - first[JOINTS]) < 0.2e9, (episode, topic, first)
        assert ("/expert/gate" in first) == (episode == 1), (episode, sorted(first))


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs (root mounts it; the CI machine runs as root)."""
    import os
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk):
    """Fill the disk to the last byte (a filler file, written until ENOSPC)."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_stops_the_recording_keeps_what_was_saved_and_refuses_the_next_start(
    small_disk, start_nodes, ros_probe
):
    import hashlib

    from sensor_msgs.msg import CompressedImage, JointState
    from std_srvs.srv import Trigger

    from kiwi_recorder.bag import readable_bag

    start_nodes(
        [sys.executable, "-m", "kiwi_recorder.recorder_node", "--ros-args"]
        + ["-p", f"out_dir:={small_disk}", "-p", "min_free_mb:=1.0"]
    )
    node = ros_probe.node
    joints = node.create_publisher(JointState, JOINTS, 10)
    cameras = [node.create_publisher(CompressedImage, topic, 10) for topic in CAMERAS]
    frame = CompressedImage(format="jpeg", data=b"\xff\xd8" + bytes(20_000) + b"\xff\xd9")

    def tick():
        joints.publish(JointState(name=["shoulder_pan"], position=[0.0]))
        for pub in cameras:
            pub.publish(frame)

    node.create_timer(1 / 30, tick)
    start, save = (node.create_client(Trigger, f"/recorder/{name}") for name in ("start", "save"))
    assert start.wait_for_service(timeout_sec=60), "no recorder"
    ros_probe.spin_for(1.5)

    assert call(ros_probe, start).success
    ros_probe.spin_for(0.5)
    assert call(ros_probe, save).success
    first = small_disk / "episode_0000"
    saved = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in first.iterdir()}

    # The disk fills mid-episode: the recorder stops recording and says why at the save.
    assert call(ros_probe, start).success
    ros_probe.spin_for(1.5)  # a flush or two on disk
    fill(small_disk)
    ros_probe.spin_for(2.0)
    stopped = call(ros_probe, save)
    assert not stopped.success
    assert "recording stopped" in stopped.message and "No space left on device" in stopped.message
    assert "episode_0001" in stopped.message, stopped.message

    # The next start is refused, with the reason.
    refused = call(ros_probe, start)
    assert not refused.success and "MB free" in refused.message and "min_free_mb" in refused.message
    assert not (small_disk / "episode_0002").exists()

    # The saved episode is untouched; the cut one is recoverable once there is room.
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in first.iterdir()} == saved
    (small_disk / "filler").unlink()
    _, warning = readable_bag(small_disk / "episode_0001", small_disk.parent / "recovered")
    assert "recovered" in warning


def test_a_recorder_killed_at_random_moments_leaves_a_recoverable_episode(tmp_path, ros_probe):
    """kill -9 (no clean-up at all) at random moments of an episode: what was flushed (each
    flush_period, 1 s) is recovered, in order; killed before the first flush, nothing is, and
    that is one error line."""
    import os
    import random
    import signal
    import subprocess
    import time

    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import CompressedImage, JointState
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    from kiwi_recorder.bag import BagError, deserialize, open_reader, readable_bag

    node = ros_probe.node
    joints = node.create_publisher(JointState, JOINTS, 10)
    others = [
        node.create_publisher(JointState, "/arm/command", 10),
        node.create_publisher(Twist, "/cmd_vel", 10),
        node.create_publisher(Bool, "/intervention", 10),
    ]
    cameras = [node.create_publisher(CompressedImage, topic, 10) for topic in CAMERAS]
    ticks = {"n": 0}

    def tick():
        ticks["n"] += 1
        joints.publish(JointState(name=["shoulder_pan"], position=[float(ticks["n"])]))
        for pub in cameras:
            pub.publish(CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xd9"))
        others[2].publish(Bool(data=False))

    node.create_timer(1 / 30, tick)
    rng = random.Random(3)
    for k, moment in enumerate([rng.uniform(0.1, 0.8), rng.uniform(1.2, 2.5), rng.uniform(2.5, 4.0)]):
        out = tmp_path / f"run{k}"
        # Each recorder's start service under its own name: a killed one lingers in discovery.
        recorder = subprocess.Popen(
            [sys.executable, "-m", "kiwi_recorder.recorder_node", "--ros-args", "-p", f"out_dir:={out}"]
            + ["-r", f"recorder/start:=recorder/start_{k}"],
            env=os.environ.copy(),
        )
        start = node.create_client(Trigger, f"/recorder/start_{k}")
        try:
            assert start.wait_for_service(timeout_sec=60), "no recorder"
            ros_probe.spin_for(1.0)  # its subscriptions matched
            assert call(ros_probe, start).success
            started = time.monotonic()
            ros_probe.spin_for(moment)
        finally:
            recorder.send_signal(signal.SIGKILL)
            recorder.wait()
        lived = time.monotonic() - started
        bag = out / "episode_0000"
        try:
            fixed, warning = readable_bag(bag, tmp_path / f"scratch{k}")
        except BagError as exc:
            assert lived < 1.5, f"killed {lived:.2f} s in, yet nothing recovered: {exc}"
            assert "no complete message" in str(exc) and "\n" not in str(exc)
            continue
        assert "unfinished" in warning
        reader = open_reader(fixed)
        values = [deserialize(d, c.msgtype).position[0] for c, _, d in reader.messages() if c.topic == JOINTS]
        reader.close()
        assert values == sorted(values) and len(values) == len(set(values)), "in order, none twice"
        assert len(values) >= 30 * (lived - 1.0) - 10, (k, lived, len(values))
