"""The keyboard node in a terminal as `ros2 launch` runs it: stdin a pipe, the launching terminal
its controlling terminal (/dev/tty), Ctrl-C typed there reaching the whole foreground process
group, then the launcher's own SIGINT. It must stop cleanly every time: no traceback, exit 0,
and the terminal's settings restored. `q` ends it the same way."""

import fcntl
import os
import random
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

pytestmark = pytest.mark.integration
READY = b"Kiwi keyboard teleop"


def start_in_terminal():
    """The node on a new pseudo-terminal, which is its controlling terminal; (process, master fd)."""
    master, slave = os.openpty()

    def own_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [sys.executable, "-m", "kiwi_teleop.keyboard_node", "--ros-args", "-r", "__node:=keyboard"],
        stdin=subprocess.PIPE,  # as launch gives it
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=own_terminal,
        env=os.environ.copy(),
    )
    # Held open here too: a terminal whose every reader has gone reads as a hang-up (EIO).
    proc.slave = slave
    return proc, master


def read_until(master: int, wanted: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    return seen


def close(proc, master) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    os.close(proc.slave)
    os.close(master)


def stop_and_check(proc, master, how: str) -> None:
    out, _ = proc.communicate(timeout=20)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, f"{how}: exit {proc.returncode}\n{text}"
    assert "Traceback" not in text and "Errno" not in text, f"{how}:\n{text}"


def test_ctrl_c_at_random_moments_stops_cleanly(ros_domain):
    rng = random.Random(7)
    for attempt in range(20):
        proc, master = start_in_terminal()
        try:
            before = termios.tcgetattr(master)
            assert READY in read_until(master, READY, 60), f"attempt {attempt}: the node did not come up"
            assert not termios.tcgetattr(master)[3] & termios.ICANON, (
                "the node puts the terminal in cbreak mode"
            )
            time.sleep(rng.uniform(0.0, 1.0))
            os.write(master, b"\x03")  # Ctrl-C typed in the terminal: SIGINT to its foreground group
            time.sleep(rng.uniform(0.0, 0.1))
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # and launch's own, as it shuts down
            stop_and_check(proc, master, f"attempt {attempt}")
            assert termios.tcgetattr(master)[3] == before[3], "terminal settings restored"
        finally:
            close(proc, master)


def test_q_quits(ros_domain):
    proc, master = start_in_terminal()
    try:
        assert READY in read_until(master, READY, 60)
        os.write(master, b"q")
        stop_and_check(proc, master, "q")
    finally:
        close(proc, master)
