# Kiwi on the LeKiwi's Raspberry Pi (arm64): driver (Feetech bus), cameras, teleop, recorder, viz.
# No training, no policy, no MuJoCo. LeRobot's motor bus module imports torch at import time, so
# the CPU-only torch wheel is installed (about 200 MB on arm64; no CUDA) but never runs a model.
#   docker buildx build --platform linux/arm64 -f docker/robot.Dockerfile -t kiwi-robot .
FROM ros:jazzy-ros-base

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3-venv python3-pip python3-opencv v4l-utils \
        ros-jazzy-robot-state-publisher ros-jazzy-tf2-msgs ros-jazzy-rmw-fastrtps-cpp \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /kiwi
COPY constraints.txt ./
# LeRobot without its dependency tree (no datasets, no training stack), plus what its Feetech bus
# needs, at the versions pinned for the workstation.
RUN python3 -m venv --system-site-packages /opt/kiwi-venv \
    && /opt/kiwi-venv/bin/pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu \
        "torch==$(grep '^torch==' constraints.txt | cut -d= -f3 | cut -d+ -f1)" \
    && /opt/kiwi-venv/bin/pip install --no-cache-dir --no-deps "lerobot==0.6.1" \
    && /opt/kiwi-venv/bin/pip install --no-cache-dir -c constraints.txt \
        feetech-servo-sdk pyserial deepdiff tqdm draccus huggingface-hub rosbags numpy pyyaml rerun-sdk

# Only the packages the robot runs (kiwi_policy stays on the workstation).
COPY src/kiwi_description src/kiwi_description
COPY src/kiwi_common src/kiwi_common
COPY src/kiwi_driver src/kiwi_driver
COPY src/kiwi_teleop src/kiwi_teleop
COPY src/kiwi_recorder src/kiwi_recorder
# `viz:=true`: the robot in Rerun's web viewer, looked at through an SSH tunnel.
COPY src/kiwi_viz src/kiwi_viz
COPY src/kiwi_bringup src/kiwi_bringup
RUN . /opt/ros/jazzy/setup.sh && . /opt/kiwi-venv/bin/activate \
    && python -m colcon build --base-paths src --packages-skip kiwi_policy

COPY docker/entrypoint.sh /entrypoint.sh
ENTRYPOINT ["/entrypoint.sh"]
CMD ["ros2", "launch", "kiwi_bringup", "robot.launch.py"]
