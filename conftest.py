"""Test-wide environment: offline, headless, and ROS traffic kept on this machine."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

import contextlib
import fcntl
import signal
import tempfile
import time
from pathlib import Path

import pytest

# A shell starts a background job (`./test.sh &`, a script's `cmd &`) with SIGINT ignored, which
# every child inherits; the tests that interrupt a run would then see their Ctrl-C lost. A
# handler (not SIG_IGN) here gives each child the default again at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DOMAIN_LOCKS = Path(tempfile.gettempdir()) / f"kiwi-test-ros-domains-{os.getuid()}"
DOMAINS = 101  # 1..101: the IDs whose DDS ports fit below Linux's ephemeral range
_next_domain = (os.getpid() % 50) * 2  # test runs side by side start apart


def nodes_on_domain(domain: int, wait_s: float) -> list[str]:
    """The nodes another process has on ROS domain `domain`, as discovery finds them in `wait_s`."""
    import rclpy

    context = rclpy.context.Context()
    rclpy.init(context=context, domain_id=domain)
    try:
        node = rclpy.create_node("kiwi_test_domain_check", context=context)
        deadline = time.monotonic() + wait_s
        while True:
            others = [n for n, _ in node.get_node_names_and_namespaces() if n != node.get_name()]
            if others or time.monotonic() >= deadline:
                node.destroy_node()
                return others
            time.sleep(0.02)
    finally:
        rclpy.try_shutdown(context=context)


@contextlib.contextmanager
def claimed_domain(wait_s: float = 1.0):
    """A ROS domain no other test holds (a lock file, held until the block ends) and on which no
    node was found (a graph left running, another user's): its ID as a string."""
    global _next_domain
    DOMAIN_LOCKS.mkdir(exist_ok=True)
    for _ in range(DOMAINS):
        domain, _next_domain = _next_domain % DOMAINS + 1, _next_domain + 1
        with open(DOMAIN_LOCKS / str(domain), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another test holds it
            if nodes_on_domain(domain, wait_s):
                continue
            yield str(domain)
            return
    raise RuntimeError(f"no free ROS domain among 1..{DOMAINS}")


@pytest.fixture
def ros_domain(monkeypatch):
    """A free ROS_DOMAIN_ID of this test's own (set before rclpy or any node starts)."""
    with claimed_domain() as domain:
        monkeypatch.setenv("ROS_DOMAIN_ID", domain)
        yield domain


@pytest.fixture
def ros_domains():
    """The domain tools themselves: `claim()` (a context manager) and `nodes(domain, wait_s)`."""
    from types import SimpleNamespace

    return SimpleNamespace(claim=claimed_domain, nodes=nodes_on_domain)


@pytest.fixture(scope="module")
def module_ros_domain():
    """A free ROS domain for a module-scoped graph (pass it in the environment yourself)."""
    with claimed_domain() as domain:
        yield domain


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
