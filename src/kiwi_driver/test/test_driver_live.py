"""The sim driver as its own process, driven over DDS from this test process."""

import math
import sys

import pytest

from kiwi_description import constants as c

pytestmark = pytest.mark.integration
DRIVER = [sys.executable, "-m", "kiwi_driver.driver_node", "--ros-args", "-p", "cameras:=false"]


class Listener:
    def __init__(self, probe):
        from diagnostic_msgs.msg import DiagnosticArray
        from nav_msgs.msg import Odometry
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import JointState

        self.probe = probe
        self.odom = self.truth = self.joints = self.clock = None
        self.diagnostics = []
        n = probe.node
        n.create_subscription(Odometry, "/odom", lambda m: setattr(self, "odom", m), 10)
        n.create_subscription(Odometry, "/sim/ground_truth/robot", lambda m: setattr(self, "truth", m), 10)
        n.create_subscription(JointState, "/joint_states", lambda m: setattr(self, "joints", m), 10)
        n.create_subscription(Clock, "/clock", lambda m: setattr(self, "clock", m), 10)
        n.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)
        assert probe.spin_until(lambda: self.odom and self.truth and self.joints and self.clock, 60), (
            "driver did not come up"
        )

    def sim_time(self):
        return self.clock.clock.sec + self.clock.clock.nanosec * 1e-9

    def pose(self, msg):
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        return p.x, p.y, 2 * math.atan2(q.z, q.w)

    def joint(self, name):
        return self.joints.position[list(self.joints.name).index(name)]

    def wheel_speed(self):
        return max(abs(v) for n, v in zip(self.joints.name, self.joints.velocity) if n in c.WHEEL_JOINTS)


class SimTimeTicks:
    """The two ways nodes take a sim tick: a node on sim time with a timer at the control rate (the
    policy node) notes whether the newest state and ground truth are its tick's; one answering each
    /joint_states (the expert) notes whether the newest ground truth is that state's."""

    def __init__(self, probe):
        import rclpy
        from nav_msgs.msg import Odometry
        from rclpy.parameter import Parameter
        from sensor_msgs.msg import JointState

        self.node = rclpy.create_node(
            "sim_time_ticks",
            context=probe.context,
            parameter_overrides=[Parameter("use_sim_time", value=True)],
        )
        probe.executor.add_node(self.node)
        self.probe = probe
        self.newest = {"truth": 0, "joints": 0}  # ns
        self.timer_fresh: list[bool] = []
        self.state_fresh: list[bool] = []
        self.node.create_subscription(Odometry, "/sim/ground_truth/robot", lambda m: self._on("truth", m), 10)
        self.node.create_subscription(JointState, "/joint_states", lambda m: self._on("joints", m), 10)
        self.node.create_timer(1.0 / c.CONTROL_RATE_HZ, self._tick)

    def _on(self, key, msg):
        self.newest[key] = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        if key == "joints" and self.newest["truth"]:
            self.state_fresh.append(self.newest["truth"] == self.newest["joints"])

    def _tick(self):
        now = self.node.get_clock().now().nanoseconds
        if now and all(self.newest.values()):
            self.timer_fresh.append(all(stamp == now for stamp in self.newest.values()))

    def close(self):
        self.probe.executor.remove_node(self.node)
        self.node.destroy_node()


def drive(listener, pub, twist_args, sim_seconds):
    """Publish a twist every tick for `sim_seconds` of sim time, then an explicit stop."""
    from geometry_msgs.msg import Twist

    twist = Twist()
    twist.linear.x, twist.linear.y, twist.angular.z = twist_args
    start = listener.sim_time()
    while listener.sim_time() - start < sim_seconds:
        pub.publish(twist)
        listener.probe.spin_for(1 / 60)
    pub.publish(Twist())
    listener.probe.spin_until(lambda: listener.wheel_speed() < 1e-3, 2.0)


def test_driver_moves_turns_stops_and_rejects_bad_input(start_nodes, ros_probe):
    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import JointState

    start_nodes(DRIVER)
    listen = Listener(ros_probe)
    cmd_vel = ros_probe.node.create_publisher(Twist, "/cmd_vel", 10)
    arm = ros_probe.node.create_publisher(JointState, "/arm/command", 10)
    ros_probe.spin_for(0.5)  # let the driver's subscriptions match

    # A tick's ground truth comes before its state, and its clock after both: a node ticking on
    # either acts on this tick's inputs, not the tick before's (that cost a policy 10 points).
    ticks = SimTimeTicks(ros_probe)
    ros_probe.spin_until(lambda: min(len(ticks.timer_fresh), len(ticks.state_fresh)) >= 60, 10.0)
    ticks.close()
    for fresh in (ticks.timer_fresh, ticks.state_fresh):
        assert len(fresh) >= 60 and sum(fresh) >= 0.9 * len(fresh), fresh

    # x = 0.1 m/s for 2 s -> about 0.2 m in odometry and ground truth (tolerance 2 cm).
    x0, y0, _ = listen.pose(listen.truth)
    drive(listen, cmd_vel, (0.1, 0.0, 0.0), 2.0)
    ox, oy, _ = listen.pose(listen.odom)
    tx, ty, _ = listen.pose(listen.truth)
    assert tx - x0 == pytest.approx(0.2, abs=0.02) and abs(ty - y0) < 0.005
    assert ox == pytest.approx(tx - x0, abs=0.01) and abs(oy) < 0.005

    # 90 deg/s for 1 s -> about 90 degrees (tolerance 8 degrees).
    _, _, yaw0 = listen.pose(listen.truth)
    drive(listen, cmd_vel, (0.0, 0.0, math.radians(90)), 1.0)
    _, _, yaw1 = listen.pose(listen.truth)
    assert math.degrees(yaw1 - yaw0) == pytest.approx(90.0, abs=8.0)
    assert math.degrees(listen.pose(listen.odom)[2] - yaw0) == pytest.approx(90.0, abs=8.0)

    # Commands stop (no explicit zero): the watchdog stops the base within cmd_timeout (+ 2 ticks).
    moving = Twist()
    moving.linear.x = 0.1
    for _ in range(10):
        cmd_vel.publish(moving)
        ros_probe.spin_for(1 / 30)
    assert listen.wheel_speed() > 0.5
    t_last = listen.sim_time()
    assert ros_probe.spin_until(lambda: listen.wheel_speed() < 0.05, 5.0)
    assert listen.sim_time() - t_last <= c.CMD_TIMEOUT_S + 0.15

    # An arm command moves the named joint, and only it.
    before = listen.joint("arm_shoulder_pan")
    elbow_before = listen.joint("arm_elbow_flex")
    cmd = JointState(name=["arm_shoulder_pan"], position=[0.4])
    for _ in range(45):
        arm.publish(cmd)
        ros_probe.spin_for(1 / 30)
    assert listen.joint("arm_shoulder_pan") == pytest.approx(0.4, abs=0.03)
    assert abs(before) < 0.05 and listen.joint("arm_elbow_flex") == pytest.approx(elbow_before, abs=0.02)

    # Bad input is rejected, reported in diagnostics, and the node keeps running.
    arm.publish(JointState(name=["arm_shoulder_pan"], position=[math.nan]))
    arm.publish(JointState(name=["arm_bogus"], position=[0.0]))
    arm.publish(JointState(name=["arm_shoulder_pan", "arm_elbow_flex"], position=[0.1]))
    listen.diagnostics.clear()

    def rejected():
        for array in listen.diagnostics:
            for s in array.status:
                if s.name == "driver: commands" and "rejected 3" in s.message:
                    return True
        return False

    assert ros_probe.spin_until(rejected, 5.0), [s.message for a in listen.diagnostics for s in a.status]
    assert listen.joint("arm_shoulder_pan") == pytest.approx(0.4, abs=0.03)  # nothing bad reached the arm
    stamp = listen.sim_time()
    ros_probe.spin_for(0.3)
    assert listen.sim_time() > stamp  # still ticking


def test_driver_on_the_feetech_backend(start_nodes, ros_probe, tmp_path):
    """The driver node on the real backend, over a pty to the servo emulator."""
    import json

    from geometry_msgs.msg import Twist
    from sensor_msgs.msg import JointState

    from kiwi_common import feetech_emulator as fe

    cal = {
        n: {"id": i, "drive_mode": 0, "homing_offset": 0, "range_min": 0, "range_max": 4095}
        for n, i in c.MOTOR_IDS.items()
    }
    (tmp_path / "bench.json").write_text(json.dumps(cal))
    with fe.FeetechEmulator(c.MOTOR_IDS.values()) as emu:
        for servo in emu.servos.values():
            servo.actual = 2047.5  # mid-range: zero degrees
        proc = start_nodes(
            [
                sys.executable,
                "-m",
                "kiwi_driver.driver_node",
                "--ros-args",
                "-p",
                "backend:=feetech",
                "-p",
                f"port:={emu.port}",
                "-p",
                "robot_id:=bench",
                "-p",
                f"calibration_dir:={tmp_path}",
            ]
        )
        states = []
        ros_probe.node.create_subscription(JointState, "/joint_states", states.append, 10)
        assert ros_probe.spin_until(lambda: states, 30), "no joint states from the feetech driver"
        assert list(states[-1].name) == list(c.ALL_JOINTS)
        cmd_vel = ros_probe.node.create_publisher(Twist, "/cmd_vel", 10)
        twist = Twist()
        twist.angular.z = math.radians(30)
        wheel = c.MOTOR_IDS["base_back_wheel"]
        goal = lambda: fe.decode_sign(emu.servos[wheel].get(fe.GOAL_VELOCITY), 15)  # noqa: E731
        for _ in range(30):
            cmd_vel.publish(twist)
            ros_probe.spin_for(1 / 30)
        assert goal() == 853  # LeRobot's raw value for 30 deg/s
        # Stop: SIGINT -> wheels stopped and torque off.
        import signal

        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
        assert goal() == 0
        assert all(s.mem[fe.TORQUE_ENABLE] == 0 for s in emu.servos.values())


COMMANDER = """
import sys, time
import rclpy
from geometry_msgs.msg import Twist
from sensor_msgs.msg import JointState
rclpy.init()
node = rclpy.create_node("commander")
cmd_vel = node.create_publisher(Twist, "/cmd_vel", 10)
arm = node.create_publisher(JointState, "/arm/command", 10)
twist = Twist()
twist.linear.x = 0.15
k = 0
while True:  # as the policy node: a command every tick, the arm sweeping
    cmd_vel.publish(twist)
    arm.publish(JointState(name=["arm_shoulder_pan"], position=[0.3 * min(1.0, k / 60)]))
    k += 1
    time.sleep(1 / 30)
"""


def test_a_commanding_node_killed_leaves_the_robot_held_within_half_a_second(start_nodes, ros_probe):
    """The policy node killed outright (kill -9: no last zero command) mid-motion: the driver's
    watchdog stops the base and holds the arm. Measured from the kill, in wall and sim time."""
    import os
    import signal
    import subprocess
    import time

    start_nodes(DRIVER)
    listen = Listener(ros_probe)
    commander = subprocess.Popen([sys.executable, "-c", COMMANDER], env=os.environ.copy())
    try:
        assert ros_probe.spin_until(lambda: listen.wheel_speed() > 1.0, 30), "the commands never arrived"
        ros_probe.spin_for(1.0)  # the arm sweeping, the base at speed
    finally:
        commander.send_signal(signal.SIGKILL)
        commander.wait()
    killed_wall, killed_sim = time.monotonic(), listen.sim_time()
    assert listen.wheel_speed() > 1.0
    assert ros_probe.spin_until(lambda: listen.wheel_speed() < 0.05, 5.0)
    held_wall, held_sim = time.monotonic() - killed_wall, listen.sim_time() - killed_sim
    print(f"held {held_wall:.3f} s (wall) {held_sim:.3f} s (sim) after the kill")
    assert held_wall <= 0.5 and held_sim <= 0.5, (held_wall, held_sim)
    # The arm holds where it was, not where the last command sent it.
    pan = listen.joint("arm_shoulder_pan")
    ros_probe.spin_for(0.5)
    assert listen.joint("arm_shoulder_pan") == pytest.approx(pan, abs=0.01)
