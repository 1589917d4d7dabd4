"""Each test graph runs on a ROS domain it has checked is free: a graph on another domain (here a
sim left running) neither reaches the test's topics nor is taken for free."""

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration


def joint_states_on(domain: int, seconds: float) -> list:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import JointState

    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=domain)
    heard = []
    try:
        node = rclpy.create_node("kiwi_test_listener", context=context)
        node.create_subscription(JointState, "/joint_states", heard.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    return heard


def test_a_graph_on_another_domain_does_not_disturb_a_test(ros_domain, ros_probe, ros_domains):
    from sensor_msgs.msg import JointState

    heard = []
    ros_probe.node.create_subscription(JointState, "/joint_states", heard.append, 10)
    with ros_domains.claim() as other:
        assert other != ros_domain
        sim = subprocess.Popen(
            [sys.executable, "-m", "kiwi_experiments.cli", "launch", "sim"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"ROS_DOMAIN_ID": other},
        )
        try:
            # The check a claim makes finds the graph on its domain...
            seen = ros_domains.nodes(int(other), 60.0)
            assert "driver" in seen, seen
            # ...where the same subscription hears it, and nothing of it reaches this test's domain.
            assert len(joint_states_on(int(other), 2.0)) > 10
            ros_probe.spin_for(2.0)
            assert heard == []
            assert "driver" not in ros_domains.nodes(int(ros_domain), 1.0)
        finally:
            sim.send_signal(signal.SIGINT)
            out = sim.communicate(timeout=30)[0]
        assert sim.returncode == 0, out
