"""On a full ROS 2 install `ros2 launch` runs the launch files with apt's Python, not Kiwi's venv:
Ubuntu 24.04's python3-yaml 6.0.1 and python3-numpy 1.26.4 (LeRobot pins numpy >= 2 in the venv).
The launch-time code (every graph with every argument choice) runs with exactly those and nothing
else of the venv, and imports neither numpy nor anything heavy, so the two numpys never meet in
one process. The nodes themselves run with the venv's interpreter (their entry points' shebang)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UBUNTU_NOBLE = ROOT / ".venv" / "ubuntu-noble"  # scripts/bootstrap.sh installs it for the tests
PROBE = """
import json, sys
from kiwi_common.graphs import GRAPHS, GraphError, argument_variants, build_graph
built = 0
for graph in GRAPHS.values():
    for variant in argument_variants(graph):
        try:
            built += len(build_graph(graph.name, variant))
        except GraphError:
            pass
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "torch", "lerobot", "mujoco", "cv2", "rclpy"))
import numpy, yaml
print(json.dumps({"built": built, "heavy": heavy, "numpy": numpy.__version__, "yaml": yaml.__version__}))
"""


def test_launch_time_code_runs_with_ubuntu_noble_python_packages():
    if not (UBUNTU_NOBLE / ".pins").is_file():
        pytest.fail(f"{UBUNTU_NOBLE} is missing: run ./test.sh (its bootstrap installs it)")
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    path = [UBUNTU_NOBLE, ROOT / "src" / "kiwi_common", ROOT / "src" / "kiwi_description"]
    run = subprocess.run(
        [str(base), "-S", "-c", PROBE],  # -S: the interpreter's own site-packages stay out too
        env={"PYTHONPATH": ":".join(map(str, path)), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["numpy"], result["yaml"]) == ("1.26.4", "6.0.1")
    assert result["heavy"] == [], f"launch-time code imported {result['heavy']}"
    assert result["built"] > 100
