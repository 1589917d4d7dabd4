"""`keyboard`: drive LeKiwi from the terminal (raw mode: works over SSH, no X11 or Wayland hooks).

Keys are in `keyboard.py` (LeRobot's LeKiwi base keys and speed levels, arm jog, episode keys).
Publishes at `rate_hz`: `/teleop/cmd_vel`, `/teleop/arm/command` (once a jog key was used; the
targets start from the present `/joint_states`), `/teleop/engaged`. Episode keys call the
recorder's services. It reads the terminal on stdin, or else the controlling terminal
(/dev/tty): `ros2 launch` gives a node no terminal on stdin but leaves it in the launching
terminal's session, so `ros2 launch kiwi_bringup teleop.launch.py` drives from that terminal.
"""

from __future__ import annotations

import math
import os
import select
import sys
import termios
import threading
import time
import tty

from rclpy.node import Node
from sensor_msgs.msg import JointState

from kiwi_common.features import arm_positions
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_description import constants as c

from .keyboard import HELP, KeyboardState
from .sources import TOPICS, CommandPublisher, RecorderClient

READ_POLL_S = 0.1  # how often the key reader checks that the node still runs

INTERFACE = NodeInterface(
    params=(
        Param("rate_hz", c.CONTROL_RATE_HZ, "Publishing rate (Hz)."),
        Param(
            "hold_s", 0.5, "Seconds a motion key keeps moving after its last press (terminal repeat delay)."
        ),
        Param("jog_step_deg", 3.0, "Arm jog per key press (degrees; gripper: jaw degrees)."),
    ),
    publishes=TOPICS,
    subscribes=(Topic("joint_states", "sensor_msgs/msg/JointState"),),
)


class KeyboardNode(Node):
    def __init__(self) -> None:
        super().__init__("keyboard")
        p = declare_params(self, INTERFACE)
        self.fd, self.owns_fd = open_terminal()
        self.keys = KeyboardState(hold_s=p.hold_s, jog_step=math.radians(p.jog_step_deg))
        self.lock = threading.Lock()
        self.out = CommandPublisher(self)
        self.recorder = RecorderClient(self)
        self.create_subscription(JointState, "joint_states", self._on_joint_states, 10)
        self.create_timer(1.0 / p.rate_hz, self._publish)
        self.saved_tty = termios.tcgetattr(self.fd)
        self.running = True
        self.thread = threading.Thread(target=self._read_keys, daemon=True)
        tty.setcbreak(self.fd)  # keys arrive one by one, unechoed; Ctrl-C still interrupts
        try:
            os.write(self.fd, HELP.encode() + b"\n")  # to the person at the terminal, not a launch log
        except BaseException:  # Ctrl-C while starting: leave the terminal as it was
            self.shutdown()
            raise

    def _on_joint_states(self, msg: JointState) -> None:
        with self.lock:
            if not self.keys.arm:
                self.keys.arm = arm_positions(msg.name, msg.position) or {}

    def _read_keys(self) -> None:
        while self.running:
            try:
                ready, _, _ = select.select([self.fd], [], [], READ_POLL_S)
                data = os.read(self.fd, 64).decode(errors="ignore") if ready else None
            except OSError:  # the terminal went away (hang-up)
                data = ""
            if data is None:
                continue
            if not data:  # terminal closed
                self.running = False
                break
            for key in data:
                with self.lock:
                    action = self.keys.press(key.lower(), time.monotonic())
                if action:
                    self.recorder.call(action)
                if self.keys.quit:
                    self.running = False
                    os.kill(os.getpid(), 2)  # as Ctrl-C: the node shuts down cleanly
                    return

    def _publish(self) -> None:
        # Keys are read from the first tick on, once the node spins: q's SIGINT arriving while
        # rclpy.spin builds its executor left half-made objects that failed at exit. A key typed
        # earlier waits in the terminal.
        if self.thread.ident is None:  # not started yet
            self.thread.start()
        now = time.monotonic()
        with self.lock:
            twist, engaged = self.keys.twist(now), self.keys.engaged(now)
            arm = dict(self.keys.arm) if self.keys.jogged else None
        self.out.twist(*twist)
        if arm:
            self.out.arm(arm)
        self.out.engaged(engaged)

    def shutdown(self) -> None:
        # The reader must be out of select/read before the terminal is restored and closed: closing
        # it under the reader was the "Bad file descriptor" on Ctrl-C under `ros2 launch`.
        self.running = False
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=1.0 + READ_POLL_S)
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved_tty)
        except termios.error:
            pass  # the terminal is gone already: nothing to restore
        if self.owns_fd:
            os.close(self.fd)


def open_terminal() -> tuple[int, bool]:
    """The terminal to read keys from: stdin if it is one, else the controlling terminal.
    Returns (fd, whether we opened it)."""
    if os.isatty(sys.stdin.fileno()):
        return sys.stdin.fileno(), False
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY), True
    except OSError:
        raise RuntimeError(
            "the keyboard teleop needs a terminal: stdin is not one and the process has no "
            "controlling terminal (run it from a terminal: ros2 launch, ros2 run or kiwi launch)"
        ) from None


def main(args=None) -> int:
    return run_node(KeyboardNode, "keyboard", args)


if __name__ == "__main__":
    sys.exit(main())
