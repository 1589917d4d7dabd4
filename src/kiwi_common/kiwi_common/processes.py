"""Child processes that end with the process that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def interrupt_when_parent_dies(parent_pid: int):
    """A preexec_fn: the child gets SIGINT (a clean stop, as Ctrl-C) when the process that started it
    dies, however it dies. Linux only; elsewhere the child outlives a killed parent."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGINT)

    return setup


def interrupt(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Stop `proc` as Ctrl-C would (SIGINT), and kill it if it has not ended after `grace_s`.
    For a child that shares our terminal: Ctrl-C reached it too, a signal sent to us alone did not."""
    try:
        proc.wait(0.5)  # a Ctrl-C from the terminal reached it as well: let it end on its own
        return
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def interrupts_deferred():
    """A Ctrl-C that lands inside the block takes effect when the block ends. Python runs signal
    handlers between bytecodes, also inside the at-fork hooks that a Popen with a preexec_fn runs
    (logging's lock release), where an exception is printed and dropped: Ctrl-C would be lost."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers run in the main thread only: nothing can land here
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


def start_child(command: list[str], **popen_args) -> subprocess.Popen:
    """subprocess.Popen that interrupts the child when we die and does not lose a Ctrl-C that lands
    while it forks."""
    proc = None
    try:
        with interrupts_deferred():
            proc = subprocess.Popen(command, preexec_fn=interrupt_when_parent_dies(os.getpid()), **popen_args)
    except BaseException:  # the deferred Ctrl-C: the caller never gets the child, so stop it here
        if proc is not None:
            interrupt(proc)
        raise
    return proc
