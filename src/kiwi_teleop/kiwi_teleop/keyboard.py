"""Key handling of the terminal keyboard teleop, free of ROS and terminals.

Base keys and speed levels are LeRobot's LeKiwi client's: w/s forward/back, a/d left/right,
z/x turn left/right, r/f speed up/down over (0.1, 0.2, 0.3) m/s and (30, 60, 90) deg/s. A terminal
sends no key-up events, only repeats while a key is held, so a motion lasts `hold_s` after its
last press; space stops at once. Arm jog keys move one joint target by `jog_step` per press.
Episode keys ask the recorder to begin, save or discard; t toggles take-over from the policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from kiwi_description import constants as c

SPEED_LEVELS = ((0.1, 30.0), (0.2, 60.0), (0.3, 90.0))  # (m/s, deg/s), LeRobot's code
BASE_KEYS = {
    "w": (1, 0, 0),
    "s": (-1, 0, 0),
    "a": (0, 1, 0),
    "d": (0, -1, 0),
    "z": (0, 0, 1),
    "x": (0, 0, -1),
}
JOG_KEYS = {  # key: (joint, direction)
    "u": ("arm_shoulder_pan", 1),
    "j": ("arm_shoulder_pan", -1),
    "i": ("arm_shoulder_lift", 1),
    "k": ("arm_shoulder_lift", -1),
    "o": ("arm_elbow_flex", 1),
    "l": ("arm_elbow_flex", -1),
    "p": ("arm_wrist_flex", 1),
    ";": ("arm_wrist_flex", -1),
    "[": ("arm_wrist_roll", 1),
    "'": ("arm_wrist_roll", -1),
    "g": (c.GRIPPER_JOINT, 1),
    "h": (c.GRIPPER_JOINT, -1),
}
EPISODE_KEYS = {"b": "start", "n": "save", "c": "discard"}
HELP = """Kiwi keyboard teleop
  base: w/s forward/back  a/d left/right  z/x turn left/right  r/f speed up/down  space stop
  arm:  u/j pan  i/k lift  o/l elbow  p/; wrist flex  [/' wrist roll  g/h gripper open/close
  episodes: b begin  n save  c discard    t take over / hand back    q quit"""


@dataclass
class KeyboardState:
    hold_s: float = 0.5
    jog_step: float = math.radians(3.0)
    level: int = 0
    direction: tuple[int, int, int] = (0, 0, 0)
    moving_until: float = float("-inf")
    input_until: float = float("-inf")  # a motion or jog key was pressed within hold_s
    jogged: bool = False
    arm: dict[str, float] = field(default_factory=dict)  # targets, filled from the joint states
    taking_over: bool = False
    quit: bool = False

    def press(self, key: str, now: float) -> str | None:
        """Apply one key; returns an episode action ('start', 'save', 'discard') if the key is one."""
        if key in BASE_KEYS or key in JOG_KEYS:
            self.input_until = now + self.hold_s
        if key in BASE_KEYS:
            self.direction, self.moving_until = BASE_KEYS[key], now + self.hold_s
        elif key == " ":
            self.direction, self.moving_until = (0, 0, 0), float("-inf")
        elif key == "r":
            self.level = min(self.level + 1, len(SPEED_LEVELS) - 1)
        elif key == "f":
            self.level = max(self.level - 1, 0)
        elif key in JOG_KEYS and self.arm:
            joint, sign = JOG_KEYS[key]
            self.arm[joint] = c.ARM_LIMITS[joint].clamp(self.arm[joint] + sign * self.jog_step)
            self.jogged = True
        elif key == "t":
            self.taking_over = not self.taking_over
        elif key in ("q", "\x03"):
            self.quit = True
        return EPISODE_KEYS.get(key)

    def twist(self, now: float) -> tuple[float, float, float]:
        """Body twist (m/s, m/s, rad/s) now."""
        if now >= self.moving_until:
            return 0.0, 0.0, 0.0
        xy, theta = SPEED_LEVELS[self.level]
        dx, dy, dth = self.direction
        return dx * xy, dy * xy, math.radians(dth * theta)

    def engaged(self, now: float) -> bool:
        """The person wants control: take-over toggled on, or a motion or jog key just pressed."""
        return self.taking_over or now < self.input_until
