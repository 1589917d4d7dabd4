"""Linux joystick API (/dev/input/js*) events -> Joy axes and buttons, free of ROS and devices.

Each read gives 8-byte events: u32 time (ms), s16 value, u8 type (1 button, 2 axis, | 0x80 for
the initial state the driver sends at open), u8 number. Axes are scaled to [-1, 1] and negated as
joy_linux does, so stick up and stick left read +1 (REP 103: x forward, y left), with a deadzone
rescaled so the output still reaches 1.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EVENT = struct.Struct("<IhBB")
JS_EVENT_BUTTON, JS_EVENT_AXIS, JS_EVENT_INIT = 0x01, 0x02, 0x80
AXIS_MAX = 32767.0
# ioctls (linux/joystick.h): _IOR('j', 0x11, u8), _IOR('j', 0x12, u8), _IOC(READ, 'j', 0x13, len)
JSIOCGAXES, JSIOCGBUTTONS = 0x80016A11, 0x80016A12


def jsiocgname(length: int) -> int:
    return 0x80006A13 | (length << 16)


def scale_axis(raw: int, deadzone: float) -> float:
    value = -raw / AXIS_MAX
    if abs(value) <= deadzone:
        return 0.0
    sign = 1.0 if value > 0 else -1.0
    return sign * min((abs(value) - deadzone) / (1.0 - deadzone), 1.0)


def parse_events(data: bytes) -> tuple[list[tuple[int, int, int, int]], bytes]:
    """Whole events in `data` as (time_ms, value, type, number), and the bytes left over."""
    whole = len(data) - len(data) % EVENT.size
    return [EVENT.unpack_from(data, i) for i in range(0, whole, EVENT.size)], data[whole:]


@dataclass
class JoystickState:
    deadzone: float = 0.05
    axes: list[float] = field(default_factory=list)
    buttons: list[int] = field(default_factory=list)

    def size(self, n_axes: int, n_buttons: int) -> None:
        self.axes += [0.0] * (n_axes - len(self.axes))
        self.buttons += [0] * (n_buttons - len(self.buttons))

    def apply(self, value: int, kind: int, number: int) -> bool:
        """Apply one event; True if it changed the state (an unknown type changes nothing)."""
        kind &= ~JS_EVENT_INIT
        if kind == JS_EVENT_AXIS:
            self.size(number + 1, 0)
            new, values = scale_axis(value, self.deadzone), self.axes
        elif kind == JS_EVENT_BUTTON:
            self.size(0, number + 1)
            new, values = int(value != 0), self.buttons
        else:
            return False
        changed = values[number] != new
        values[number] = new
        return changed
