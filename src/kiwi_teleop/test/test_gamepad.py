"""Gamepad teleop: Joy logic, the Linux joystick protocol, then joy -> gamepad nodes over DDS."""

import math
import os

import pytest

from kiwi_teleop.gamepad import GamepadConfig, GamepadState, JoyLayoutError, check_layout
from kiwi_teleop.joystick import (
    EVENT,
    JS_EVENT_AXIS,
    JS_EVENT_BUTTON,
    JS_EVENT_INIT,
    JoystickState,
    parse_events,
    scale_axis,
)

CFG = GamepadConfig()
N_AXES, N_BUTTONS = 8, 11


def joy(axes=None, buttons=()):
    a, b = [0.0] * N_AXES, [0] * N_BUTTONS
    for i, v in (axes or {}).items():
        a[i] = v
    for i in buttons:
        b[i] = 1
    return a, b


def test_nothing_moves_without_the_deadman():
    pad = GamepadState()
    pad.joy(*joy({CFG.axis_linear_x: 1.0}), now=0.0)
    assert pad.twist(0.0) == (0.0, 0.0, 0.0) and not pad.engaged(0.0)
    pad.joy(*joy({CFG.axis_linear_x: 1.0, CFG.axis_angular_yaw: -0.5}, [CFG.enable_button]), now=0.1)
    assert pad.twist(0.1) == pytest.approx((0.2, 0.0, -0.5 * math.radians(60.0))) and pad.engaged(0.1)
    pad.joy(*joy({CFG.axis_linear_y: 1.0}, [CFG.enable_button, CFG.enable_turbo_button]), now=0.2)
    assert pad.twist(0.2) == pytest.approx((0.0, 0.3, 0.0))


def test_a_silent_pad_counts_as_released():
    pad = GamepadState()
    pad.joy(*joy({CFG.axis_linear_x: 1.0}, [CFG.enable_button]), now=0.0)
    assert pad.twist(CFG.joy_timeout - 0.01)[0] == pytest.approx(0.2)
    assert pad.twist(CFG.joy_timeout + 0.01) == (0.0, 0.0, 0.0) and not pad.engaged(CFG.joy_timeout + 0.01)


def test_arm_button_hands_the_sticks_to_the_arm():
    pad = GamepadState()
    pad.joy(*joy({0: 1.0, 6: -1.0}, [CFG.arm_button, CFG.enable_button]), now=0.0)
    pad.jog(0.5, 0.0)
    assert not pad.jogged, "no jog before the arm's position is known"
    pad.arm = {"arm_shoulder_pan": 0.0, "arm_shoulder_lift": 0.0, "arm_gripper": 0.5}
    pad.jog(0.5, 0.0)
    assert pad.arm["arm_shoulder_pan"] == pytest.approx(0.5 * CFG.arm_rate)
    assert pad.arm["arm_gripper"] == pytest.approx(0.5 - 0.5 * CFG.arm_rate)
    assert pad.arm["arm_shoulder_lift"] == 0.0
    assert pad.twist(0.0) == (0.0, 0.0, 0.0), "the base does not move while the arm has the sticks"
    for _ in range(100):  # clamped at the joint limit
        pad.jog(0.5, 0.0)
    from kiwi_description import constants as c

    assert pad.arm["arm_shoulder_pan"] == pytest.approx(c.ARM_LIMITS["arm_shoulder_pan"].upper)


def test_episode_buttons_fire_on_press_only():
    pad = GamepadState()
    assert pad.joy(*joy(buttons=[CFG.start_button]), now=0.0) == ["start"]
    assert pad.joy(*joy(buttons=[CFG.start_button]), now=0.1) == [], "held: no repeat"
    assert pad.joy(*joy(buttons=[CFG.save_button, CFG.discard_button]), now=0.2) == ["save", "discard"]
    pad.joy(*joy(buttons=[CFG.takeover_button]), now=0.3)
    assert pad.taking_over and pad.engaged(0.3)
    pad.joy(*joy(), now=0.4)
    pad.joy(*joy(buttons=[CFG.takeover_button]), now=0.5)
    assert not pad.taking_over


def test_layout_check_names_what_the_pad_lacks():
    check_layout(CFG, N_AXES, N_BUTTONS)
    with pytest.raises(JoyLayoutError, match=r"2 axes and 4 buttons.*enable_button=4.*axis_angular_yaw=3"):
        check_layout(CFG, 2, 4)
    check_layout(GamepadConfig(enable_turbo_button=-1, arm_axes=()), N_AXES, N_BUTTONS)


def test_linux_joystick_events():
    assert scale_axis(-32767, 0.05) == 1.0, "stick up (negative raw) is +1, as joy_linux"
    assert scale_axis(1000, 0.05) == 0.0, "inside the deadzone"
    assert scale_axis(32767 // 2, 0.0) == pytest.approx(-0.5, abs=1e-4)
    data = EVENT.pack(10, 1, JS_EVENT_BUTTON | JS_EVENT_INIT, 3) + EVENT.pack(11, -32767, JS_EVENT_AXIS, 1)
    events, rest = parse_events(data + b"\x01\x02\x03")
    assert events == [(10, 1, 0x81, 3), (11, -32767, 2, 1)] and rest == b"\x01\x02\x03"
    state = JoystickState()
    assert [state.apply(v, t, n) for _, v, t, n in events] == [True, True]
    assert state.buttons == [0, 0, 0, 1] and state.axes == [0.0, 1.0]
    assert not state.apply(-32767, JS_EVENT_AXIS, 1), "no change"
    assert not state.apply(5, 0x04, 0), "unknown event type"


@pytest.mark.integration
def test_joy_and_gamepad_nodes_drive_from_a_joystick_device(start_nodes, ros_probe, tmp_path):
    """A FIFO stands in for /dev/input/js0 and carries the kernel's 8-byte events."""
    import sys

    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist
    from std_msgs.msg import Bool

    dev = tmp_path / "js0"
    twists, engaged, diags = [], [], []
    ros_probe.node.create_subscription(Twist, "/teleop/cmd_vel", twists.append, 10)
    ros_probe.node.create_subscription(Bool, "/teleop/engaged", engaged.append, 10)
    ros_probe.node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    start_nodes(
        [
            sys.executable,
            "-m",
            "kiwi_teleop.joy_node",
            "--ros-args",
            "-p",
            f"dev:={dev}",
            "-p",
            "reconnect_period:=0.2",
        ]
    )
    start_nodes([sys.executable, "-m", "kiwi_teleop.gamepad_node"])

    def device_level():
        return diags[-1].status[0].level if diags else None

    assert ros_probe.spin_until(lambda: device_level() == b"\x02" and twists, 30), "missing pad not reported"
    assert "cannot open" in diags[-1].status[0].message and twists[-1].linear.x == 0.0

    os.mkfifo(dev)
    writer = os.open(dev, os.O_RDWR)  # O_RDWR: does not block waiting for the reader
    try:
        init = [(v, JS_EVENT_AXIS | JS_EVENT_INIT, i) for i, v in enumerate([0] * N_AXES)]
        init += [(0, JS_EVENT_BUTTON | JS_EVENT_INIT, i) for i in range(N_BUTTONS)]
        os.write(writer, b"".join(EVENT.pack(0, *e) for e in init))
        assert ros_probe.spin_until(lambda: device_level() == b"\x00", 10), "pad not opened"
        # Deadman held, left stick fully up: forward at the default scale.
        os.write(
            writer,
            EVENT.pack(1, 1, JS_EVENT_BUTTON, CFG.enable_button)
            + EVENT.pack(2, -32767, JS_EVENT_AXIS, CFG.axis_linear_x),
        )
        assert ros_probe.spin_until(
            lambda: twists[-1].linear.x == pytest.approx(0.2) and engaged[-1].data, 10
        )
        # The pad goes away (unplugged: the device node disappears), Joy stops, and the gamepad
        # node's joy timeout stops the base.
        os.unlink(dev)
        os.close(writer)
        writer = None
        assert ros_probe.spin_until(lambda: twists[-1].linear.x == 0.0 and not engaged[-1].data, 10)
        assert ros_probe.spin_until(lambda: device_level() == b"\x02", 10)
    finally:
        if writer is not None:
            os.close(writer)
