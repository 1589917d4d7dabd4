"""`kiwi launch sim` brought up for real; this test process listens over DDS like any other node."""

import sys
import time

import pytest

from kiwi_common.node_interface import full_name
from kiwi_description import constants as c
from kiwi_driver.driver_node import INTERFACE as DRIVER

pytestmark = pytest.mark.integration
ROS_BUILTIN = {"/rosout", "/parameter_events"}


def test_sim_graph_publishes_over_dds(start_nodes, ros_probe):
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState

    start_nodes([sys.executable, "-m", "kiwi_bringup.cli", "launch", "sim", "seed:=3"])
    node = ros_probe.node
    states, clocks = [], []
    node.create_subscription(JointState, "/joint_states", lambda m: states.append((time.monotonic(), m)), 10)
    node.create_subscription(Clock, "/clock", clocks.append, 10)
    assert ros_probe.spin_until(lambda: len(states) >= 1, 60), "no /joint_states within 60 s"
    assert ros_probe.spin_until(lambda: len(states) >= 61, 20)

    msg = states[-1][1]
    assert list(msg.name) == list(c.ALL_JOINTS)
    assert len(msg.position) == len(msg.velocity) == len(c.ALL_JOINTS)
    # Rate: 60 periods at 30 Hz take 2 s of wall time; allow for a loaded 2-core machine.
    elapsed = states[-1][0] - states[-61][0]
    assert 1.6 < elapsed < 3.0, f"60 periods took {elapsed:.2f} s"
    # /clock is the sim's time: it advances by whole periods.
    stamps = [m.clock.sec + m.clock.nanosec * 1e-9 for m in clocks[-10:]]
    periods = [(b - a) * 30 for a, b in zip(stamps, stamps[1:])]
    assert all(p > 0.5 and abs(p - round(p)) < 1e-5 for p in periods), periods

    # The running node publishes what its interface declares, and nothing else.
    actual = dict(node.get_publisher_names_and_types_by_node("driver", "/"))
    declared = {full_name(t.name): [t.type] for t in DRIVER.publishes}
    for name, types in actual.items():
        if name not in ROS_BUILTIN:
            assert declared.get(name) == types, f"undeclared publisher {name} {types}"
    for name in ("/joint_states", "/odom", "/clock", "/camera/front/image_raw", "/sim/ground_truth/cube"):
        assert name in actual
    subscribed = dict(node.get_subscriber_names_and_types_by_node("driver", "/"))
    assert {full_name(t.name) for t in DRIVER.subscribes} <= set(subscribed)
    services = dict(node.get_service_names_and_types_by_node("driver", "/"))
    assert {full_name(s) for s in DRIVER.services} <= set(services)
