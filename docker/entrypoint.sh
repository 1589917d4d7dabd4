#!/usr/bin/env bash
# ROS, the venv (LeRobot and friends on top of ROS's Python packages), then the Kiwi workspace.
set -e
source /opt/ros/jazzy/setup.bash
source /opt/kiwi-venv/bin/activate
source /kiwi/install/setup.bash
exec "$@"
