# Kiwi workstation: ROS 2 Jazzy (Ubuntu 24.04, Python 3.12) + LeRobot/torch/MuJoCo in a venv that
# sees ROS's Python packages, and the Kiwi workspace built with colcon. Training, the policy node,
# the sim, the demo, rviz and Nav2.
#   docker build -f docker/workstation.Dockerfile -t kiwi-workstation .
FROM ros:jazzy

ARG DEBIAN_FRONTEND=noninteractive
# EGL/Mesa for MuJoCo's offscreen cameras, ffmpeg for LeRobot's video decoding; the ROS pieces the
# pip-only setup lacks: launch, robot_state_publisher, rviz2, tf2, Nav2.
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3-venv python3-pip ffmpeg libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 \
        ros-jazzy-robot-state-publisher ros-jazzy-rviz2 ros-jazzy-tf2-ros ros-jazzy-tf2-msgs \
        ros-jazzy-nav2-bringup ros-jazzy-rmw-fastrtps-cpp \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /kiwi
COPY requirements.txt constraints.txt ./
# rclpy and the message packages come from ROS itself (--system-site-packages); PyPI gives the rest
# at the versions pinned for the pip-only setup.
RUN python3 -m venv --system-site-packages /opt/kiwi-venv \
    && grep -v '^ros-jazzy-' requirements.txt > /tmp/requirements.txt \
    && /opt/kiwi-venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt -c constraints.txt

COPY src ./src
# Built with the venv's interpreter, so the nodes' entry points import LeRobot and torch.
RUN . /opt/ros/jazzy/setup.sh && . /opt/kiwi-venv/bin/activate \
    && python -m colcon build --symlink-install --base-paths src

ENV MUJOCO_GL=egl HF_HUB_OFFLINE=1 WANDB_MODE=disabled
COPY docker/entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/entrypoint.sh"]
CMD ["ros2", "launch", "kiwi_policy", "run.launch.py"]
