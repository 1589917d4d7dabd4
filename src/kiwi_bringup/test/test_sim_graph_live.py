"""`kiwi launch sim` brought up for real; this test process listens over DDS like any other node."""

import os
import signal
import subprocess
import sys
import time

import pytest

from kiwi_description import constants as c
from kiwi_driver.driver_node import INTERFACE as DRIVER

pytestmark = pytest.mark.integration


@pytest.fixture
def sim_graph(ros_domain):
    proc = subprocess.Popen([sys.executable, "-m", "kiwi_bringup.cli", "launch", "sim", "seed:=3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    yield proc
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out


@pytest.fixture
def ros_node(ros_domain):
    import rclpy

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("kiwi_test_probe", context=context)
    yield node, context
    node.destroy_node()
    rclpy.shutdown(context=context)


def spin_until(node, context, condition, timeout):
    import rclpy

    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        executor.spin_once(timeout_sec=0.05)
    executor.remove_node(node)
    return condition()


def test_joint_states_and_clock_arrive_over_dds(sim_graph, ros_node):
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState

    node, context = ros_node
    states, clocks = [], []
    node.create_subscription(JointState, "/joint_states", lambda m: states.append((time.monotonic(), m)), 10)
    node.create_subscription(Clock, "/clock", clocks.append, 10)
    assert spin_until(node, context, lambda: len(states) >= 1, 60), "no /joint_states within 60 s"
    assert spin_until(node, context, lambda: len(states) >= 61, 20)

    msg = states[-1][1]
    assert list(msg.name) == list(c.ALL_JOINTS)
    assert len(msg.position) == len(msg.velocity) == len(c.ALL_JOINTS)
    # Rate: 60 periods at 30 Hz take 2 s of wall time; allow for a loaded 2-core machine.
    elapsed = states[-1][0] - states[-61][0]
    assert 1.6 < elapsed < 3.0, f"60 periods took {elapsed:.2f} s"
    # /clock is the sim's time: it advances by one period per message and stamps the states.
    stamps = [c.clock.sec + c.clock.nanosec * 1e-9 for c in clocks[-10:]]
    periods = [(b - a) * 30 for a, b in zip(stamps, stamps[1:])]
    assert all(p > 0.5 and abs(p - round(p)) < 1e-5 for p in periods), periods

    # The running node's publishers are the ones its interface declares.
    topics = dict(node.get_publisher_names_and_types_by_node("driver", "/"))
    for topic in DRIVER.publishes:
        assert topic.name in topics and topics[topic.name] == [topic.type]
