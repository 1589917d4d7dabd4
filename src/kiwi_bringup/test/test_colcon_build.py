"""The workspace builds with colcon (from PyPI) exactly as the Dockerfiles build it, and the install
tree holds what `ros2 run` and `ros2 launch` look for: console scripts under lib/<package>/, launch,
config, URDF and rviz files under share/<package>/, and the ament index entries. A package cycle
fails here as it failed the workstation image ("Unable to order packages topologically")."""

import ast
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"
DATA_DIRS = ("launch", "config", "urdf", "rviz")


def console_scripts(package: str) -> list[str]:
    """The `name = module:function` console scripts a package's setup.py declares."""
    tree = ast.parse((SRC / package / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(
            getattr(k, "value", None) == "console_scripts" for k in node.keys
        ):
            scripts = node.values[[k.value for k in node.keys].index("console_scripts")]
            return [elt.value.split("=")[0].strip() for elt in scripts.elts]
    return []


def colcon_build_as_in(name: str, workspace: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Copy what the Dockerfile copies of src/, run its `colcon build` line with this interpreter."""
    cmds = dockerfile.parse_file(str(ROOT / "docker" / name))
    packages = []
    for cmd in cmds:
        if cmd.cmd == "COPY" and cmd.value[0].startswith("src"):
            source, dest = cmd.value
            shutil.copytree(
                ROOT / source,
                workspace / dest,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "install", "log"),
            )
    for path in (workspace / "src").iterdir():
        packages.append(path.name)
    (line,) = [" ".join(c.value) for c in cmds if c.cmd == "RUN" and "colcon build" in " ".join(c.value)]
    args = shlex.split(line.split("python -m colcon", 1)[1])
    run = subprocess.run(
        [sys.executable, "-m", "colcon", "--log-base", "log", *args],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return run, sorted(packages)


@pytest.fixture(scope="module")
def workstation(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("colcon")
    run, packages = colcon_build_as_in("workstation.Dockerfile", workspace)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return workspace / "install", packages


def test_workstation_build_installs_every_package(workstation):
    install, packages = workstation
    assert packages == sorted(p.name for p in SRC.iterdir() if (p / "package.xml").exists())
    for package in packages:
        share = install / package / "share"
        assert (share / "ament_index" / "resource_index" / "packages" / package).exists(), package
        assert (share / package / "package.xml").exists(), package
        for script in console_scripts(package):
            exe = install / package / "lib" / package / script
            assert exe.exists() and os.access(exe, os.X_OK), f"ros2 run {package} {script}: no {exe}"
        for folder in DATA_DIRS:
            for source in (SRC / package / folder).glob("[!.]*"):
                assert (share / package / folder / source.name).exists(), f"{package}/{folder}/{source.name}"


def test_setup_bash_sources_and_finds_every_package(workstation):
    """The README's next step after the build: `source install/setup.bash` (colcon-bash writes it)."""
    install, packages = workstation
    setup = install / "setup.bash"
    assert setup.is_file(), "no install/setup.bash (colcon-bash missing from the environment?)"
    probe = (
        "from ament_index_python.packages import get_package_share_directory as share; "
        f"print(' '.join(share(p) for p in {packages!r}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("AMENT_PREFIX_PATH", "COLCON_PREFIX_PATH")}
    run = subprocess.run(
        [
            "bash",
            "-c",
            f'set -e; source "{setup}"; echo "$COLCON_PREFIX_PATH"; "{sys.executable}" -c "{probe}"',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    prefix, shares = run.stdout.strip().splitlines()[-2:]
    assert prefix == str(install)
    assert [Path(p) for p in shares.split()] == [install / p / "share" / p for p in packages]


def test_share_files_resolve_in_the_install_tree(workstation):
    """With the install tree's prefixes on AMENT_PREFIX_PATH (as after `source install/setup.bash`),
    the files graphs and launch files name resolve there, not in the source tree."""
    install, packages = workstation
    env = {**os.environ, "AMENT_PREFIX_PATH": os.pathsep.join(str(install / p) for p in packages)}
    probe = "from kiwi_common.graphs import share_file; print(share_file('kiwi_description', 'rviz', 'kiwi.rviz'))"
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    rviz = Path(run.stdout.strip())
    assert rviz.is_relative_to(install) and rviz.exists(), rviz


def test_robot_image_build(tmp_path):
    run, packages = colcon_build_as_in("robot.Dockerfile", tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "kiwi_policy" not in packages and "kiwi_common" in packages
    assert (tmp_path / "install" / "kiwi_driver" / "lib" / "kiwi_driver" / "driver").exists()
