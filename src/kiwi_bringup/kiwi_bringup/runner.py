"""Start a graph's node specs as processes, for machines without `ros2 launch`.

Each node runs in its own process with `--ros-args` (node name, namespace, a parameters file,
remappings), in its own session so that Ctrl-C reaches the runner, which then stops the nodes in
order: SIGINT, then SIGTERM, then SIGKILL after a grace period. When a required node dies, the
runner says which and why, stops the rest and exits non-zero (zero when it ended cleanly: the
keyboard's `q`); a viewer that closes leaves the graph running. A runner killed outright (SIGKILL, the OOM killer)
cannot do that, so each node also asks Linux for SIGINT when its parent dies: no orphans.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TextIO

import yaml

from kiwi_common.graphs import NodeSpec, missing_packages, ros_package_installed
from kiwi_common.processes import start_child


class RunnerError(RuntimeError):
    pass


def _normalise(name: str) -> str:
    return name.replace("-", "_").lower()


def find_entry_point(package: str, executable: str) -> EntryPoint:
    """The console script `executable` installed by `package` (as `ros2 run` would find it)."""
    for ep in entry_points(group="console_scripts", name=executable):
        if ep.dist is not None and _normalise(ep.dist.name) == _normalise(package):
            return ep
    raise RunnerError(f"package '{package}' has no executable '{executable}' (is it installed?)")


def fully_qualified_name(spec: NodeSpec) -> str:
    ns = "/" + spec.namespace.strip("/") if spec.namespace.strip("/") else ""
    return f"{ns}/{spec.name}"


def ros_args(spec: NodeSpec, params_file: Path | None) -> list[str]:
    args = ["--ros-args", "-r", f"__node:={spec.name}"]
    if spec.namespace:
        args += ["-r", f"__ns:=/{spec.namespace.strip('/')}"]
    if params_file is not None:
        args += ["--params-file", str(params_file)]
    for src, dst in spec.remappings:
        args += ["-r", f"{src}:={dst}"]
    return args


def node_command(spec: NodeSpec, params_file: Path | None) -> list[str]:
    if spec.ros_only:
        return ["ros2", "run", spec.package, spec.executable, *spec.arguments, *ros_args(spec, params_file)]
    ep = find_entry_point(spec.package, spec.executable)
    module, _, attr = ep.value.partition(":")
    # Same interpreter as the runner, so the venv's rclpy and packages are used.
    code = (
        f"import sys; sys.argv[0] = {spec.executable!r}; "
        f"from {module} import {attr} as entry; sys.exit(entry())"
    )
    return [sys.executable, "-c", code, *spec.arguments, *ros_args(spec, params_file)]


def startable(specs: list[NodeSpec]) -> tuple[list[NodeSpec], list[NodeSpec]]:
    """(specs to start, full-ROS-only specs skipped because `ros2` is not on the PATH). Where `ros2`
    is found, a ROS package the specs need and the install lacks is an error before anything starts."""
    if not shutil.which("ros2"):
        skip = [s for s in specs if s.ros_only]
        return [s for s in specs if s not in skip], skip
    problem = missing_packages(specs, ros_package_installed)
    if problem:
        raise RunnerError(problem)
    return specs, []


def write_params(spec: NodeSpec, folder: Path) -> Path | None:
    if not spec.parameters:
        return None
    path = folder / f"{spec.name}.yaml"
    path.write_text(yaml.safe_dump({fully_qualified_name(spec): {"ros__parameters": spec.parameters}}))
    return path


@dataclass
class _Running:
    spec: NodeSpec
    proc: subprocess.Popen
    tail: deque = field(default_factory=lambda: deque(maxlen=20))
    pump: threading.Thread | None = None


def _pump(running: _Running, out: TextIO, lock: threading.Lock) -> None:
    assert running.proc.stdout is not None
    for line in running.proc.stdout:
        line = line.rstrip("\n")
        running.tail.append(line)
        with lock:
            print(f"[{running.spec.name}] {line}", file=out, flush=True)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class GraphRunner:
    """Runs specs until one exits, `stop()` is called, or SIGINT/SIGTERM arrives."""

    def __init__(
        self,
        specs: list[NodeSpec],
        out: TextIO = sys.stdout,
        grace_s: float = 5.0,
        env: dict[str, str] | None = None,
    ):
        names = [fully_qualified_name(s) for s in specs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise RunnerError(f"two nodes share the name {', '.join(sorted(duplicates))}")
        self.specs = specs
        self.out = out
        self.grace_s = grace_s
        self.env = env
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.running: list[_Running] = []

    def say(self, text: str) -> None:
        with self._lock:
            print(f"kiwi: {text}", file=self.out, flush=True)

    def stop(self) -> None:
        self._stop.set()

    def start(self, params_dir: Path) -> None:
        self.specs, skipped = startable(self.specs)
        for spec in skipped:
            self.say(
                f"skipped {fully_qualified_name(spec)}: {spec.package} comes with a full ROS 2 install "
                f"(`ros2` is not on the PATH)"
            )
        commands = [
            node_command(s, write_params(s, params_dir)) for s in self.specs
        ]  # fail before starting any
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env.setdefault("MUJOCO_GL", "egl")
        for spec, cmd in zip(self.specs, commands):
            proc = start_child(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                env=env,
            )
            running = _Running(spec, proc)
            running.pump = threading.Thread(target=_pump, args=(running, self.out, self._lock), daemon=True)
            running.pump.start()
            self.running.append(running)
            self.say(
                f"started {fully_qualified_name(spec)} ({spec.package}/{spec.executable}, pid {proc.pid})"
            )

    def wait(self, poll_s: float = 0.1) -> int:
        """Block until a required node exits or a stop is asked for; stop everything; return the exit
        code: 0 after a stop or a node that ended cleanly (the keyboard's `q`), else non-zero."""
        ended: _Running | None = None
        optional_ended: set[int] = set()
        while not self._stop.is_set():
            for r in self.running:
                if r.proc.poll() is None or id(r) in optional_ended:
                    continue
                if r.spec.required:
                    ended = r
                    break
                optional_ended.add(id(r))
                self.say(
                    f"node {fully_qualified_name(r.spec)} {describe_exit(r.proc.returncode)}; the graph runs on"
                )
            if ended:
                break
            self._stop.wait(poll_s)
        if ended:
            if ended.pump:
                ended.pump.join(timeout=1.0)
            code = ended.proc.returncode
            self.say(f"node {fully_qualified_name(ended.spec)} {describe_exit(code)}; stopping the others")
            if code != 0 and ended.tail:
                self.say("its last output:\n    " + "\n    ".join(ended.tail))
        self.shutdown()
        if ended and ended.proc.returncode != 0:
            return ended.proc.returncode if ended.proc.returncode > 0 else 1
        return 0

    def shutdown(self) -> None:
        alive = [r for r in self.running if r.proc.poll() is None]
        for sig, wait_s in ((signal.SIGINT, self.grace_s), (signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
            if not alive:
                break
            for r in alive:
                try:
                    os.killpg(r.proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while alive and time.monotonic() < deadline:
                alive = [r for r in alive if r.proc.poll() is None]
                time.sleep(0.05)
            if alive and sig != signal.SIGKILL:
                self.say(f"{', '.join(r.spec.name for r in alive)} ignored {sig.name}")
        for r in self.running:
            if r.pump:
                r.pump.join(timeout=1.0)
        self.say("all nodes stopped")


def run_graph(specs: list[NodeSpec], out: TextIO = sys.stdout) -> int:
    """Run specs in the foreground until Ctrl-C or a node exits; the process's exit code."""
    runner = GraphRunner(specs, out=out)

    def on_signal(signum, _frame):
        runner.say(f"{signal.Signals(signum).name}: stopping")
        runner.stop()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with tempfile.TemporaryDirectory(prefix="kiwi-params-") as tmp:
            try:
                runner.start(Path(tmp))
            except BaseException:
                runner.shutdown()  # nodes started before the failure
                raise
            return runner.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
