"""docker/: the Dockerfiles parse with Docker's own parser and say what the README promises; the
compose file runs launch files that exist with arguments their graphs declare; Nav2's parameters
use the driver's frames and topics. (No Docker daemon or Nav2 here: the images are not built.)"""

import os
import re
from pathlib import Path

import dockerfile
import pytest
import yaml

from kiwi_common.graphs import GRAPHS, build_graph, share_file
from kiwi_driver.driver_node import INTERFACE as DRIVER

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"


def commands(name):
    return dockerfile.parse_file(str(DOCKER / name))


def runs(cmds):
    return " ".join(" ".join(c.value) for c in cmds if c.cmd == "RUN")


def test_workstation_image():
    cmds = commands("workstation.Dockerfile")
    assert cmds[0].cmd == "FROM" and cmds[0].value == ("ros:jazzy",)
    text = runs(cmds)
    assert "venv --system-site-packages" in text  # its colcon build runs in test_colcon_build.py
    assert "grep -v '^ros-jazzy-'" in text, "ROS's own rclpy and messages, not the PyPI wheels"
    for package in ("ros-jazzy-robot-state-publisher", "ros-jazzy-rviz2", "ros-jazzy-nav2-bringup"):
        assert package in text


def test_robot_image_runs_no_policy():
    cmds = commands("robot.Dockerfile")
    assert cmds[0].value == ("ros:jazzy-ros-base",)
    copied = [c.value[0] for c in cmds if c.cmd == "COPY"]
    assert "src/kiwi_driver" in copied and not any("kiwi_policy" in c for c in copied)
    text = runs(cmds)
    assert "--packages-skip kiwi_policy" in text
    assert "download.pytorch.org/whl/cpu" in text and '--no-deps "lerobot==0.6.1"' in text


def test_compose_runs_existing_launch_files_with_declared_arguments():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    launch_dir = ROOT / "src" / "kiwi_bringup" / "launch"
    for name in ("robot", "policy"):
        service = compose["services"][name]
        assert service["network_mode"] == "host" and "ROS_DOMAIN_ID" in service["environment"]
        command = service["command"]
        assert command[:3] == ["ros2", "launch", "kiwi_bringup"]
        graph = GRAPHS[command[3].removesuffix(".launch.py")]
        assert (launch_dir / command[3]).exists()
        declared = {arg.name for arg in graph.args}
        assert {a.split(":=")[0] for a in command[4:]} <= declared
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def test_nav2_parameters_use_the_drivers_frames_and_stamped_twists():
    params = yaml.safe_load(Path(share_file("kiwi_bringup", "config", "nav2_params.yaml")).read_text())
    defaults = {p.name: p.default for p in DRIVER.params}
    text = yaml.safe_dump(params)
    frames = set(re.findall(r"global_frame: (\w+)", text)) | set(re.findall(r"local_frame: (\w+)", text))
    assert frames == {defaults["odom_frame"]}
    assert set(re.findall(r"robot_base_frame: (\w+)", text)) == {defaults["base_frame"]}
    assert set(re.findall(r"odom_topic: (\S+)", text)) == {"/odom"}
    stamped = re.findall(r"enable_stamped_cmd_vel: (\w+)", text)
    assert stamped and set(stamped) == {"true"}
    follow = params["controller_server"]["ros__parameters"]["FollowPath"]
    assert follow["max_vel_y"] > 0 and follow["vy_samples"] > 1, "omniwheels: lateral motion is sampled"
    nav2 = {spec.name: spec for spec in build_graph("nav2", {"model": "act"})}
    assert nav2["driver"].parameters["cmd_vel_stamped"] and not nav2["policy"].parameters["autostart"]


@pytest.mark.parametrize("name", ["workstation.Dockerfile", "robot.Dockerfile"])
def test_entrypoint_sources_ros_venv_and_workspace(name):
    cmds = commands(name)
    assert [c.value for c in cmds if c.cmd == "ENTRYPOINT"] == [("/entrypoint.sh",)]
    script = (DOCKER / "entrypoint.sh").read_text()
    assert (
        script.index("/opt/ros/jazzy/setup.bash")
        < script.index("kiwi-venv")
        < script.index("install/setup.bash")
    )
