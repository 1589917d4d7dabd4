"""The keyboard teleop: key logic, then the real node driven through a pseudo-terminal."""

import math
import os
import pty
import signal
import subprocess
import sys

import pytest

from kiwi_teleop.keyboard import KeyboardState


def test_keys_and_speed_levels_follow_lerobot():
    keys = KeyboardState(hold_s=0.5)
    keys.press("w", 0.0)
    assert keys.twist(0.1) == (0.1, 0.0, 0.0) and keys.engaged(0.1)
    keys.press("r", 0.1)
    keys.press("r", 0.1)
    keys.press("r", 0.1)  # capped at the fast level
    keys.press("z", 0.2)
    assert keys.twist(0.3) == pytest.approx((0.0, 0.0, math.radians(90.0)))
    assert keys.twist(0.8) == (0.0, 0.0, 0.0) and not keys.engaged(0.8), "released after hold_s"
    keys.press("a", 1.0)
    keys.press(" ", 1.1)
    assert keys.twist(1.1) == (0.0, 0.0, 0.0)


def test_jog_clamps_and_episode_keys():
    keys = KeyboardState(jog_step=math.radians(50.0))
    keys.press("u", 0.0)
    assert not keys.jogged, "no jog before the arm's position is known"
    keys.arm = {"arm_shoulder_pan": 0.0, "arm_gripper": 0.0}
    for _ in range(5):
        keys.press("u", 0.0)
    assert keys.arm["arm_shoulder_pan"] == pytest.approx(math.radians(110.0))
    assert (
        keys.press("b", 0.0) == "start"
        and keys.press("n", 0.0) == "save"
        and keys.press("c", 0.0) == "discard"
    )
    keys.press("t", 0.0)
    assert keys.engaged(100.0)


@pytest.mark.integration
def test_keyboard_node_through_a_pty(ros_probe):
    from geometry_msgs.msg import Twist
    from std_msgs.msg import Bool

    twists, engaged = [], []
    ros_probe.node.create_subscription(Twist, "/teleop/cmd_vel", twists.append, 10)
    ros_probe.node.create_subscription(Bool, "/teleop/engaged", engaged.append, 10)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiwi_teleop.keyboard_node"],
        stdin=terminal,
        stdout=terminal,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
        start_new_session=True,
    )
    os.close(terminal)
    try:
        assert ros_probe.spin_until(lambda: twists and engaged, 30), (
            "no /teleop/cmd_vel from the keyboard node"
        )
        assert twists[-1].linear.x == 0.0 and not engaged[-1].data
        os.write(controller, b"w")
        assert ros_probe.spin_until(lambda: twists[-1].linear.x == pytest.approx(0.1) and engaged[-1].data, 5)
        os.write(controller, b"rz")
        assert ros_probe.spin_until(lambda: twists[-1].angular.z == pytest.approx(math.radians(60.0)), 5)
        os.write(controller, b" ")
        assert ros_probe.spin_until(lambda: twists[-1].angular.z == 0.0 and twists[-1].linear.x == 0.0, 5)
        os.write(controller, b"q")  # quits cleanly and restores the terminal
        assert proc.wait(timeout=15) == 0, proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        os.close(controller)


@pytest.mark.integration
def test_keyboard_under_ros2_launch_reads_the_controlling_terminal(ros_probe, tmp_path):
    """As `ros2 launch` starts it: stdin a pipe, but the launching terminal is the controlling
    terminal. Keys typed there reach /cmd_vel through the mux; quitting restores the terminal."""
    import termios

    from geometry_msgs.msg import Twist

    twists = []
    ros_probe.node.create_subscription(Twist, "/cmd_vel", twists.append, 10)
    controller, terminal = pty.openpty()
    terminal_path = os.ttyname(terminal)
    before = termios.tcgetattr(terminal)

    def take_terminal():  # a new session whose controlling terminal is the pty, as a shell's would be
        os.close(os.open(terminal_path, os.O_RDWR))

    keyboard = subprocess.Popen(
        [sys.executable, "-m", "kiwi_teleop.keyboard_node"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
        start_new_session=True,
        preexec_fn=take_terminal,
    )
    mux = subprocess.Popen(
        [sys.executable, "-m", "kiwi_teleop.mux_node", "--ros-args", "-p", "mode:=teleop"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        assert ros_probe.spin_until(lambda: twists, 30), "no /cmd_vel from keyboard + mux"
        os.write(controller, b"w")
        assert ros_probe.spin_until(lambda: twists[-1].linear.x == pytest.approx(0.1), 5), (
            "the key did not arrive"
        )
        os.write(controller, b"q")
        assert keyboard.wait(timeout=15) == 0, keyboard.stderr.read().decode()
        assert termios.tcgetattr(terminal)[3] == before[3], "terminal modes not restored"
    finally:
        for proc in (keyboard, mux):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)
        os.close(controller)
        os.close(terminal)


def test_keyboard_without_any_terminal_says_so(ros_domain):
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_teleop.keyboard_node"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=60,
    )
    assert run.returncode != 0 and "no controlling terminal" in run.stdout + run.stderr
