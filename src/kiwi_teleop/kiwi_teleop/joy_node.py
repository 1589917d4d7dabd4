"""`joy`: sensor_msgs/Joy on `/joy` from a Linux joystick device, for machines without the `joy` package.

Reads /dev/input/js* (the kernel's joystick API: no SDL, no X11) on its own thread, publishes on
every change and at `autorepeat_rate` while the pad is connected (as joy_linux does, so a held stick
keeps arriving). A missing or unplugged pad goes to /diagnostics (ERROR) and is reopened every
`reconnect_period`; nothing is published meanwhile, so the gamepad teleop's `joy_timeout` stops
the robot. On a full ROS install `ros2 run joy joy_node` does the same job.
"""

from __future__ import annotations

import array
import fcntl
import os
import select
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import Joy

from kiwi_common.diagnostics import Diagnostic, diagnostic_array
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node

from .joystick import JSIOCGAXES, JSIOCGBUTTONS, JoystickState, jsiocgname, parse_events

INTERFACE = NodeInterface(
    params=(
        Param("dev", "/dev/input/js0", "Joystick device (Linux joystick API)."),
        Param("deadzone", 0.05, "Axis deadzone, as a fraction of full deflection."),
        Param("autorepeat_rate", 20.0, "Re-publish rate while connected (Hz); 0: only on change."),
        Param("reconnect_period", 1.0, "Seconds between attempts to open a missing pad."),
        Param("frame_id", "joy", "header.frame_id of the Joy messages."),
    ),
    publishes=(
        Topic("joy", "sensor_msgs/msg/Joy"),
        Topic("diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
    ),
)


def _ioctl_u8(fd: int, request: int) -> int | None:
    buf = array.array("B", [0])
    try:
        fcntl.ioctl(fd, request, buf)
    except OSError:  # not a joystick device (a FIFO in tests): sizes come from the events
        return None
    return buf[0]


def _device_name(fd: int) -> str:
    buf = array.array("B", [0] * 128)
    try:
        fcntl.ioctl(fd, jsiocgname(len(buf)), buf)
    except OSError:
        return ""
    return buf.tobytes().split(b"\0", 1)[0].decode(errors="replace")


class JoyNode(Node):
    def __init__(self) -> None:
        super().__init__("joy")
        p = declare_params(self, INTERFACE)
        if not 0.0 <= p.deadzone < 1.0:
            raise ValueError(f"deadzone must be in [0, 1), got {p.deadzone}")
        self.params = p
        self.lock = threading.Lock()
        self.state = JoystickState(deadzone=p.deadzone)
        self.connected = False
        self.device_name = ""
        self.last_error = "not opened yet"
        self.pub = self.create_publisher(Joy, "joy", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        if p.autorepeat_rate > 0:
            self.create_timer(1.0 / p.autorepeat_rate, self._repeat)
        self.create_timer(1.0, self._publish_diagnostics)
        self.running = True
        self.thread = threading.Thread(target=self._read_loop, daemon=True)
        self.thread.start()

    def _open(self) -> int | None:
        try:
            fd = os.open(self.params.dev, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            self.last_error = f"cannot open {self.params.dev}: {exc.strerror}"
            return None
        with self.lock:
            self.state = JoystickState(deadzone=self.params.deadzone)
            self.state.size(_ioctl_u8(fd, JSIOCGAXES) or 0, _ioctl_u8(fd, JSIOCGBUTTONS) or 0)
        self.device_name = _device_name(fd)
        return fd

    def _read_loop(self) -> None:
        while self.running:
            fd = self._open()
            if fd is None:
                time.sleep(self.params.reconnect_period)
                continue
            self.connected, self.last_error = True, ""
            self.get_logger().info(f"reading {self.params.dev} {self.device_name}".rstrip())
            try:
                self._read_events(fd)
            finally:
                os.close(fd)
                self.connected = False
            if self.running:
                self.get_logger().warning(f"{self.params.dev}: {self.last_error}; reopening")
                time.sleep(self.params.reconnect_period)

    def _read_events(self, fd: int) -> None:
        pending = b""
        while self.running:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(fd, 64 * 8)
            except BlockingIOError:
                continue
            except OSError as exc:  # ENODEV: unplugged
                self.last_error = f"read failed: {exc.strerror}"
                return
            if not data:
                self.last_error = "device closed"
                return
            events, pending = parse_events(pending + data)
            with self.lock:
                changed = [self.state.apply(value, kind, number) for _, value, kind, number in events]
            if any(changed):
                self._publish()

    def _publish(self) -> None:
        with self.lock:
            msg = Joy(axes=list(self.state.axes), buttons=list(self.state.buttons))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.frame_id
        self.pub.publish(msg)

    def _repeat(self) -> None:
        with self.lock:
            known = bool(self.state.axes or self.state.buttons)
        if self.connected and known:  # not before the pad's size is known (ioctl or its first events)
            self._publish()

    def _publish_diagnostics(self) -> None:
        dev = self.params.dev
        status = (
            Diagnostic(0, "device", f"reading {self.device_name}".rstrip(), {"dev": dev}, dev)
            if self.connected
            else Diagnostic(2, "device", self.last_error, {"dev": dev}, dev)
        )
        self.diag_pub.publish(diagnostic_array(self.get_name(), [status], self.get_clock().now().to_msg()))

    def shutdown(self) -> None:
        self.running = False
        self.thread.join(timeout=1.0)


def main(args=None) -> int:
    return run_node(JoyNode, "joy", args)


if __name__ == "__main__":
    sys.exit(main())
