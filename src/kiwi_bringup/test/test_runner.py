"""The runner starts real node processes, reports a dying node, and stops cleanly."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiwi_bringup.runner import GraphRunner, RunnerError, node_command, ros_args
from kiwi_common.graphs import NodeSpec

pytestmark = pytest.mark.integration
KIWI = [sys.executable, "-m", "kiwi_bringup.cli"]


def test_ros_args_carry_name_namespace_params_and_remaps(tmp_path):
    spec = NodeSpec("kiwi_driver", "driver", "drv", {"seed": 1}, (("/joint_states", "/js"),), "robot1")
    args = ros_args(spec, tmp_path / "p.yaml")
    assert args == [
        "--ros-args",
        "-r",
        "__node:=drv",
        "-r",
        "__ns:=/robot1",
        "--params-file",
        str(tmp_path / "p.yaml"),
        "-r",
        "/joint_states:=/js",
    ]
    assert node_command(spec, None)[:2] == [sys.executable, "-c"]


def test_duplicate_names_refused():
    spec = NodeSpec("kiwi_driver", "driver", "driver")
    with pytest.raises(RunnerError, match="share the name /driver"):
        GraphRunner([spec, spec])


def test_a_dying_node_stops_the_graph_and_is_named(tmp_path, ros_domain):
    # The good one must be valid on its own (cameras off: their 30 Hz would exceed rate_hz), or
    # whichever node dies first is the one named.
    good = NodeSpec("kiwi_driver", "driver", "good_driver", {"rate_hz": 10.0, "cameras": False})
    bad = NodeSpec("kiwi_driver", "driver", "bad_driver", {"backend": "warp-drive"})
    out = io.StringIO()
    runner = GraphRunner([good, bad], out=out, grace_s=10.0)
    runner.start(tmp_path)
    code = runner.wait()
    text = out.getvalue()
    assert code == 2, text
    assert "node /bad_driver exited with code 2" in text
    assert "unknown backend 'warp-drive'" in text
    assert all(r.proc.poll() is not None for r in runner.running), "every node was stopped"


def start_sim_graph():
    """`kiwi launch sim` once its driver runs: (the runner's process, the driver's pid, output so far)."""
    proc = subprocess.Popen(
        [*KIWI, "launch", "sim", "cameras:=false"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "sim driver at" in line:
            break
    else:
        proc.kill()
        pytest.fail("the driver did not come up:\n" + "".join(lines))
    pid = int(next(line for line in lines if "started /driver" in line).split("pid ")[1].rstrip(")\n"))
    return proc, pid, lines


def gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text().lower()
    except FileNotFoundError:
        return True


def test_sigint_stops_every_node_and_exits_zero(ros_domain):
    proc, pid, lines = start_sim_graph()
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "all nodes stopped" in rest
    assert gone(pid)


def test_nodes_die_with_a_runner_killed_outright(ros_domain):
    proc, pid, lines = start_sim_graph()
    proc.kill()  # SIGKILL: the runner cannot stop anything itself
    proc.wait(timeout=10)
    deadline = time.monotonic() + 20
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not gone(pid):
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the driver outlived its killed runner")


def test_cli_rejects_bad_arguments():
    result = subprocess.run([*KIWI, "launch", "sim", "nonsense:=1"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "has no argument nonsense" in result.stderr


def scripted_runner(monkeypatch, tmp_path, scripts: dict[str, str], optional=()):
    """A runner over nodes that run the given Python code (the exit policy, not the nodes, is
    under test); nodes named in `optional` are not required."""
    import kiwi_bringup.runner as runner_module

    monkeypatch.setattr(
        runner_module, "node_command", lambda spec, _: [sys.executable, "-c", scripts[spec.name]]
    )
    specs = [NodeSpec("kiwi_driver", "driver", name, required=name not in optional) for name in scripts]
    out = io.StringIO()
    runner = GraphRunner(specs, out=out, grace_s=5.0)
    runner.start(tmp_path)
    return runner, out


SLEEPS = "import time; time.sleep(60)"


def test_a_node_that_ends_cleanly_ends_the_graph_with_zero(monkeypatch, tmp_path):
    """The keyboard's `q`: the node exits 0, the others stop, the graph exits 0."""
    runner, out = scripted_runner(
        monkeypatch, tmp_path, {"keyboard": "import time; time.sleep(0.5)", "driver": SLEEPS}
    )
    assert runner.wait() == 0, out.getvalue()
    assert "node /keyboard exited with code 0; stopping the others" in out.getvalue()
    assert all(r.proc.poll() is not None for r in runner.running)


def test_a_viewer_that_closes_leaves_the_graph_running(monkeypatch, tmp_path):
    import threading

    runner, out = scripted_runner(
        monkeypatch, tmp_path, {"rviz2": "raise SystemExit(1)", "driver": SLEEPS}, optional={"rviz2"}
    )
    threading.Timer(3.0, runner.stop).start()
    started = time.monotonic()
    assert runner.wait() == 0, out.getvalue()
    assert time.monotonic() - started >= 2.5, "the graph ended with the viewer"
    assert "node /rviz2 exited with code 1; the graph runs on" in out.getvalue()


def test_a_missing_ros_package_starts_nothing(monkeypatch):
    """Where `ros2` is on the PATH, ROS-only nodes are started with `ros2 run`: a package the
    install lacks is named, with its apt package, before anything starts."""
    import kiwi_bringup.runner as runner_module
    from kiwi_common.graphs import build_graph

    specs = build_graph("sim", {"rviz": "true"})
    monkeypatch.setattr(runner_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(runner_module, "ros_package_installed", lambda package: package != "rviz2")
    with pytest.raises(RunnerError, match="not installed: rviz2 .* sudo apt install ros-jazzy-rviz2$"):
        runner_module.startable(specs)
    monkeypatch.setattr(runner_module, "ros_package_installed", lambda package: True)
    assert runner_module.startable(specs) == (specs, [])
    monkeypatch.setattr(runner_module.shutil, "which", lambda name: None)
    started, skipped = runner_module.startable(specs)
    assert {s.name for s in skipped} == {"robot_state_publisher", "rviz2"} and len(started) == 1


def test_no_ament_index_is_named_not_blamed_on_a_package(monkeypatch, tmp_path):
    from kiwi_common.graphs import GraphError, ros_package_installed

    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    with pytest.raises(GraphError, match="source /opt/ros/jazzy/setup.bash first$"):
        ros_package_installed("rviz2")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    assert ros_package_installed("rviz2") is False
