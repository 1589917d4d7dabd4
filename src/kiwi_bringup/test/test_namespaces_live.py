"""Two sims in one ROS domain under two namespaces: each is driven by its own /<ns>/cmd_vel and
neither moves the other; frames carry the namespace as a prefix; each has its own clock."""

import sys

import pytest

pytestmark = pytest.mark.integration


def test_two_namespaced_sims_are_driven_independently(start_nodes, ros_probe):
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rosgraph_msgs.msg import Clock

    for ns in ("robot1", "robot2"):
        start_nodes(
            [sys.executable, "-m", "kiwi_bringup.cli", "launch", "sim", f"namespace:={ns}", "cameras:=false"]
        )
    node = ros_probe.node
    odom = {"robot1": [], "robot2": []}
    clocks = {"robot1": [], "robot2": []}
    for ns in odom:
        node.create_subscription(Odometry, f"/{ns}/odom", odom[ns].append, 10)
        node.create_subscription(Clock, f"/{ns}/clock", clocks[ns].append, 10)
    root_clock = []
    node.create_subscription(Clock, "/clock", root_clock.append, 10)
    assert ros_probe.spin_until(lambda: all(odom.values()), 60), "no /robot1/odom or /robot2/odom"
    # Each subscription matches on its own (DDS discovery): odometry first says nothing of clocks.
    assert ros_probe.spin_until(lambda: all(clocks.values()), 10), "each sim publishes its own clock"
    assert not root_clock, "nothing on the root namespace's /clock"
    start = {ns: msgs[-1].pose.pose.position.x for ns, msgs in odom.items()}

    cmd = node.create_publisher(Twist, "/robot1/cmd_vel", 10)
    twist = Twist()
    twist.linear.x = 0.2
    for _ in range(45):  # 1.5 s at 30 Hz
        cmd.publish(twist)
        ros_probe.spin_for(1 / 30)
    ros_probe.spin_for(0.3)
    moved = {ns: msgs[-1].pose.pose.position.x - start[ns] for ns, msgs in odom.items()}
    assert moved["robot1"] > 0.1, moved
    assert abs(moved["robot2"]) < 0.01, moved
    last = odom["robot1"][-1]
    assert (last.header.frame_id, last.child_frame_id) == ("robot1/odom", "robot1/base_link")
    assert odom["robot2"][-1].header.frame_id == "robot2/odom"
