"""Gamepad teleop logic (sensor_msgs/Joy in, base twist and arm targets out), free of ROS.

Parameters follow teleop_twist_joy's names where it has one (`enable_button`,
`enable_turbo_button`, `axis_linear.x|y`, `axis_angular.yaw`, `scale_*`). Defaults suit an
Xbox-style pad under Linux's joystick driver as `joy_linux` and Kiwi's `joy` node publish it (axes
signed so that stick up and stick left are +1): hold LB to drive the base, RB to move the arm.

Nothing moves unless a deadman button is held, and a pad whose Joy messages stop arriving
(`joy_timeout`) counts as released: a dropped wireless pad stops the robot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kiwi_description import constants as c


@dataclass(frozen=True)
class GamepadConfig:
    enable_button: int = 4  # LB: deadman for the base
    enable_turbo_button: int = 3  # Y: held with the deadman, turbo scales
    arm_button: int = 5  # RB: deadman for the arm; the sticks then jog arm joints
    axis_linear_x: int = 1  # left stick up/down
    axis_linear_y: int = 0  # left stick left/right
    axis_angular_yaw: int = 3  # right stick left/right
    scale_linear_x: float = 0.2  # m/s at full deflection (LeKiwi's medium speed level)
    scale_linear_y: float = 0.2
    scale_angular_yaw: float = math.radians(60.0)  # rad/s
    scale_linear_turbo_x: float = 0.3
    scale_linear_turbo_y: float = 0.3
    scale_angular_turbo_yaw: float = math.radians(90.0)
    # With the arm button held: axis index -> joint, moved at arm_rate (rad/s) at full deflection.
    arm_axes: tuple[tuple[int, str], ...] = (
        (0, "arm_shoulder_pan"),
        (1, "arm_shoulder_lift"),
        (4, "arm_elbow_flex"),
        (7, "arm_wrist_flex"),
        (3, "arm_wrist_roll"),
        (6, c.GRIPPER_JOINT),
    )
    arm_rate: float = math.radians(60.0)
    start_button: int = 7  # episode: begin
    save_button: int = 0  # A: save
    discard_button: int = 6  # back: discard
    takeover_button: int = 2  # X: toggle take-over from the policy
    joy_timeout: float = 0.5

    def indices(self) -> dict[str, int]:
        """Every button and axis index by parameter name (for the range check)."""
        out = {
            name: getattr(self, name)
            for name in (
                "enable_button",
                "enable_turbo_button",
                "arm_button",
                "axis_linear_x",
                "axis_linear_y",
                "axis_angular_yaw",
                "start_button",
                "save_button",
                "discard_button",
                "takeover_button",
            )
        }
        out.update({f"arm axis for {joint}": axis for axis, joint in self.arm_axes})
        return out


EPISODE_BUTTONS = {"start_button": "start", "save_button": "save", "discard_button": "discard"}


class JoyLayoutError(ValueError):
    """A configured button or axis index that the pad does not have."""


def check_layout(config: GamepadConfig, n_axes: int, n_buttons: int) -> None:
    """Raise with every configured index that the pad's Joy message lacks (-1 means unused)."""
    bad = []
    for name, index in config.indices().items():
        limit = n_buttons if "button" in name else n_axes
        if index >= limit:
            bad.append(f"{name}={index}")
    if bad:
        raise JoyLayoutError(
            f"the pad has {n_axes} axes and {n_buttons} buttons; out of range: {', '.join(bad)}"
        )


def _pressed(buttons, index: int) -> bool:
    return 0 <= index < len(buttons) and bool(buttons[index])


def _axis(axes, index: int) -> float:
    return float(axes[index]) if 0 <= index < len(axes) else 0.0


@dataclass
class GamepadState:
    config: GamepadConfig = field(default_factory=GamepadConfig)
    axes: tuple[float, ...] = ()
    buttons: tuple[int, ...] = ()
    last_joy: float = float("-inf")
    arm: dict[str, float] = field(default_factory=dict)  # targets, filled from the joint states
    jogged: bool = False
    taking_over: bool = False

    def joy(self, axes, buttons, now: float) -> list[str]:
        """Take one Joy message; returns the episode actions whose buttons were just pressed."""
        cfg, before = self.config, self.buttons
        self.axes, self.buttons, self.last_joy = tuple(axes), tuple(buttons), now
        if _pressed(buttons, cfg.takeover_button) and not _pressed(before, cfg.takeover_button):
            self.taking_over = not self.taking_over
        return [
            action
            for name, action in EPISODE_BUTTONS.items()
            if _pressed(buttons, getattr(cfg, name)) and not _pressed(before, getattr(cfg, name))
        ]

    def _live(self, now: float) -> bool:
        return now - self.last_joy <= self.config.joy_timeout

    def _held(self, index: int, now: float) -> bool:
        return self._live(now) and _pressed(self.buttons, index)

    def twist(self, now: float) -> tuple[float, float, float]:
        """Body twist (m/s, m/s, rad/s): zero unless the base deadman is held and the arm's is not
        (the arm button hands the sticks over to the arm)."""
        cfg = self.config
        if not self._held(cfg.enable_button, now) or self._held(cfg.arm_button, now):
            return 0.0, 0.0, 0.0
        if self._held(cfg.enable_turbo_button, now):
            scales = (cfg.scale_linear_turbo_x, cfg.scale_linear_turbo_y, cfg.scale_angular_turbo_yaw)
        else:
            scales = (cfg.scale_linear_x, cfg.scale_linear_y, cfg.scale_angular_yaw)
        axes = (cfg.axis_linear_x, cfg.axis_linear_y, cfg.axis_angular_yaw)
        return tuple(scale * _axis(self.axes, axis) for scale, axis in zip(scales, axes))

    def jog(self, dt: float, now: float) -> None:
        """Move the arm targets for dt seconds of stick deflection while the arm deadman is held."""
        cfg = self.config
        if not self.arm or not self._held(cfg.arm_button, now):
            return
        for axis, joint in cfg.arm_axes:
            value = _axis(self.axes, axis)
            if value and joint in self.arm:
                self.arm[joint] = c.ARM_LIMITS[joint].clamp(self.arm[joint] + value * cfg.arm_rate * dt)
                self.jogged = True

    def engaged(self, now: float) -> bool:
        """A person wants control: a deadman held, or take-over toggled on."""
        cfg = self.config
        return self.taking_over or self._held(cfg.enable_button, now) or self._held(cfg.arm_button, now)
