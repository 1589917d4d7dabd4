"""Test-wide environment: offline, headless, and ROS traffic kept on this machine."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

import itertools

import pytest

_domain_ids = itertools.count((os.getpid() % 50) * 2 + 1)


@pytest.fixture
def ros_domain(monkeypatch):
    """A private ROS_DOMAIN_ID for this test (set before rclpy or any node starts)."""
    domain = str(next(_domain_ids) % 101 + 1)
    monkeypatch.setenv("ROS_DOMAIN_ID", domain)
    return domain


class RosProbe:
    """A node in the test process, on its own context, that other processes' nodes talk to."""

    def __init__(self):
        import rclpy

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("kiwi_test_probe", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def spin_until(self, condition, timeout: float) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            self.executor.spin_once(timeout_sec=0.02)
        return bool(condition())

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def close(self):
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def ros_probe(ros_domain):
    probe = RosProbe()
    yield probe
    probe.close()


@pytest.fixture
def start_nodes(ros_domain):
    """start_nodes(argv) runs a command (a node or `kiwi launch`) that the test stops with SIGINT;
    the test fails if it did not exit cleanly."""
    import collections
    import signal
    import subprocess
    import threading

    procs = []

    def start(argv):
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
        )
        # Read as it comes (its last lines in `proc.output`): a graph that logs more than the pipe
        # holds (64 kB) before the test reads it would block on its next write.
        proc.output = collections.deque(maxlen=2000)
        proc.drain = threading.Thread(target=proc.output.extend, args=(proc.stdout,), daemon=True)
        proc.drain.start()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        proc.drain.join(timeout=5)
        out = "".join(proc.output)
        assert proc.returncode == 0, f"{proc.args} exited with {proc.returncode}:\n{out}"


def _record_expert_episodes(n: int, seconds: float, first_seed: int = 10):
    from kiwi_experiments.episodes import EpisodeClient, EpisodePlan
    from kiwi_recorder.streams import NOT_YET_RECEIVED

    client = EpisodeClient()
    try:
        client.wait_ready(["/sim/reset", "/expert/reset", "/recorder/start"])
        messages = []
        for episode in range(n):
            result = client.run(EpisodePlan(first_seed + episode, episode % 3 == 2), seconds, policy=False)
            assert "not published" not in result.started, result.started
            assert NOT_YET_RECEIVED not in result.started, result.started
            messages.append(result.saved)
        return messages
    finally:
        client.close()


@pytest.fixture
def record_expert_episodes():
    """record_expert_episodes(n, seconds): with `kiwi launch record teleop:=expert` running, record n
    episodes of `seconds` of sim time (seeds 10.., every third with the obstacle) through the real
    services, with the client `kiwi demo` uses."""
    return _record_expert_episodes
