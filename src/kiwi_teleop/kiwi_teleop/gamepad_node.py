"""`gamepad`: drive LeKiwi from a gamepad's sensor_msgs/Joy (from `joy` here or ROS's joy_node).

Logic and button/axis defaults are in `gamepad.py`; parameter names follow teleop_twist_joy
(`enable_button`, `axis_linear.x`, `scale_angular_turbo.yaw`, ...). Publishes at `rate_hz` from its
own timer, so a pad that goes quiet (`joy_timeout`) is read as released. Each new pad size is
checked against the configured indices: a pad with fewer axes or buttons is reported once, by name,
and not used.
"""

from __future__ import annotations

import sys
import time

from rclpy.node import Node
from sensor_msgs.msg import JointState, Joy

from kiwi_common.features import arm_positions
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_description import constants as c

from .gamepad import GamepadConfig, GamepadState, JoyLayoutError, check_layout
from .sources import TOPICS, CommandPublisher, RecorderClient

_D = GamepadConfig()
# ROS parameter name -> GamepadConfig field (teleop_twist_joy's dotted names).
PARAM_FIELDS = {
    "enable_button": "enable_button",
    "enable_turbo_button": "enable_turbo_button",
    "arm_button": "arm_button",
    "axis_linear.x": "axis_linear_x",
    "axis_linear.y": "axis_linear_y",
    "axis_angular.yaw": "axis_angular_yaw",
    "scale_linear.x": "scale_linear_x",
    "scale_linear.y": "scale_linear_y",
    "scale_angular.yaw": "scale_angular_yaw",
    "scale_linear_turbo.x": "scale_linear_turbo_x",
    "scale_linear_turbo.y": "scale_linear_turbo_y",
    "scale_angular_turbo.yaw": "scale_angular_turbo_yaw",
    "arm_rate": "arm_rate",
    "start_button": "start_button",
    "save_button": "save_button",
    "discard_button": "discard_button",
    "takeover_button": "takeover_button",
    "joy_timeout": "joy_timeout",
}
INTERFACE = NodeInterface(
    params=(
        Param("rate_hz", c.CONTROL_RATE_HZ, "Publishing rate (Hz)."),
        *(
            Param(
                name, getattr(_D, field), f"teleop_twist_joy-style setting ({field}); -1 disables a button."
            )
            for name, field in PARAM_FIELDS.items()
        ),
        Param("arm_axes", [axis for axis, _ in _D.arm_axes], "With arm_button held: the axes that jog..."),
        Param(
            "arm_joints",
            [joint for _, joint in _D.arm_axes],
            "...these joints (same order), at arm_rate rad/s.",
        ),
    ),
    publishes=TOPICS,
    subscribes=(Topic("joy", "sensor_msgs/msg/Joy"), Topic("joint_states", "sensor_msgs/msg/JointState")),
)


def config_from_params(p) -> GamepadConfig:
    values = {field: getattr(p, name) for name, field in PARAM_FIELDS.items()}
    if len(p.arm_axes) != len(p.arm_joints):
        raise ValueError(
            f"arm_axes ({len(p.arm_axes)}) and arm_joints ({len(p.arm_joints)}) differ in length"
        )
    unknown = sorted(set(p.arm_joints) - set(c.ARM_JOINTS))
    if unknown:
        raise ValueError(f"arm_joints has unknown joints {unknown}; arm joints: {', '.join(c.ARM_JOINTS)}")
    return GamepadConfig(**values, arm_axes=tuple(zip(p.arm_axes, p.arm_joints)))


class GamepadNode(Node):
    def __init__(self) -> None:
        super().__init__("gamepad")
        p = declare_params(self, INTERFACE)
        self.pad = GamepadState(config_from_params(p))
        self.period = 1.0 / p.rate_hz
        self.layout: tuple[int, int] | None = None  # (axes, buttons) of the last Joy message
        self.layout_error = ""
        self.out = CommandPublisher(self)
        self.recorder = RecorderClient(self)
        self.create_subscription(Joy, "joy", self._on_joy, 10)
        self.create_subscription(JointState, "joint_states", self._on_joint_states, 10)
        self.create_timer(self.period, self._publish)

    def _on_joy(self, msg: Joy) -> None:
        layout = (len(msg.axes), len(msg.buttons))
        if layout != self.layout:  # checked again whenever the pad's size changes (replugged, another pad)
            self.layout = layout
            try:
                check_layout(self.pad.config, *layout)
                self.layout_error = ""
            except JoyLayoutError as exc:
                self.layout_error = str(exc)
                self.get_logger().error(f"{exc}; set the gamepad parameters for this pad")
        if self.layout_error:
            return
        for action in self.pad.joy(msg.axes, msg.buttons, time.monotonic()):
            self.recorder.call(action)

    def _on_joint_states(self, msg: JointState) -> None:
        if not self.pad.arm:
            self.pad.arm = arm_positions(msg.name, msg.position) or {}

    def _publish(self) -> None:
        now = time.monotonic()
        self.pad.jog(self.period, now)
        self.out.twist(*self.pad.twist(now))
        if self.pad.jogged:
            self.out.arm(dict(self.pad.arm))
        self.out.engaged(self.pad.engaged(now))


def main(args=None) -> int:
    return run_node(GamepadNode, "gamepad", args)


if __name__ == "__main__":
    sys.exit(main())
