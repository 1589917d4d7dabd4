"""An image policy deployed on what a real robot's graph carries: episodes recorded in the sim
with the cameras at the policy's size (`image_size`), converted, a tiny camera kiwi_mlp trained on
them; then the policy node alone, fed the recorded camera and joint topics from a bag (re-stamped
to now, as a robot's drivers stamp them), with no /sim topic and no /clock on the graph,
publishes commands."""

import signal
import sys

import pytest

pytestmark = pytest.mark.integration
SIZE = (48, 64)
TINY = ["--policy.image_channels=8", "--policy.keypoints=4", "--policy.hidden_dim=32"]


def replayed_messages(bag, topics):
    """(topic, message) of `topics` from the episode bag, in recorded order."""
    from kiwi_recorder.bag import deserialize, open_reader

    reader = open_reader(bag)
    try:
        wanted = [c for c in reader.connections if c.topic in topics]
        return [(c.topic, deserialize(data, c.msgtype)) for c, _, data in reader.messages(connections=wanted)]
    finally:
        reader.close()


def test_a_camera_policy_drives_on_a_bags_camera_and_joint_topics(
    tmp_path, start_nodes, ros_probe, record_expert_episodes
):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import Image, JointState

    from kiwi_experiments.plan import demo_mapping
    from kiwi_recorder.convert import convert, find_bags

    mapping = demo_mapping("images").with_image_size(*SIZE)
    (tmp_path / "mapping.json").write_text(mapping.to_json())
    bags = tmp_path / "bags"
    recording = start_nodes(
        [sys.executable, "-m", "kiwi_experiments.cli", "launch", "record", "teleop:=expert"]
        + [f"out_dir:={bags}", f"mapping:={tmp_path / 'mapping.json'}", f"image_size:={SIZE[0]}x{SIZE[1]}"]
    )
    record_expert_episodes(1, 2.0)
    recording.send_signal(signal.SIGINT)
    recording.wait(timeout=30)
    convert(find_bags(bags), tmp_path / "dataset", mapping=mapping, use_videos=False, progress=False)
    from kiwi_policy.train import train

    model = train(
        tmp_path / "dataset",
        "kiwi_mlp",
        tmp_path / "model",
        steps=2,
        batch_size=2,
        extra=TINY,
        log=tmp_path / "log",
    )

    topics = [mapping.state_topic, *mapping.cameras.values()]
    messages = replayed_messages(find_bags(bags)[0], topics)
    assert {t for t, _ in messages} == set(topics), "the bag has the joints and both cameras"
    node = ros_probe.node
    from rclpy.qos import qos_profile_sensor_data

    publishers = {
        topic: node.create_publisher(
            JointState if topic == mapping.state_topic else Image,
            topic,
            10 if topic == mapping.state_topic else qos_profile_sensor_data,
        )
        for topic in topics
    }
    commands, twists = [], []
    node.create_subscription(JointState, "/policy/arm/command", commands.append, 10)
    node.create_subscription(Twist, "/policy/cmd_vel", twists.append, 10)
    start_nodes([sys.executable, "-m", "kiwi_policy.policy_node", "--ros-args", "-p", f"model:={model}"])
    played = [0]

    def play_next_tick() -> bool:
        """The next tick's messages (up to the next joint state), stamped now; False at the end."""
        while played[0] < len(messages):
            topic, msg = messages[played[0]]
            played[0] += 1
            msg.header.stamp = node.get_clock().now().to_msg()
            publishers[topic].publish(msg)
            if topic == mapping.state_topic:
                return True
        return False

    for _ in range(3):  # the recording over again, at 30 Hz, until the policy answers
        played[0] = 0
        while play_next_tick() and len(commands) < 20:
            ros_probe.spin_for(1 / 30)
        if len(commands) >= 20:
            break
    assert len(commands) >= 20 and twists, f"{len(commands)} arm commands, {len(twists)} twists"
    graph_topics = {name for name, _ in node.get_topic_names_and_types()}
    assert not [t for t in graph_topics if t.startswith("/sim") or t == "/clock"], sorted(graph_topics)
