"""Conversion speed: one 60 s two-camera episode (LeRobot's sizes) -> LeRobotDataset v3.

The episode is the scripted expert in the sim (cameras rendered, JPEG as the recorder stores them),
written as a bag with the recorder's writer; the conversion is `kiwi convert`'s function.
Prints frames/s and x real time.  Run: .venv/bin/python benchmarks/convert_bench.py [seconds]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from geometry_msgs.msg import Twist  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Bool  # noqa: E402

from kiwi_common.features import Mapping  # noqa: E402
from kiwi_common.images import to_compressed  # noqa: E402
from kiwi_description import constants as c  # noqa: E402
from kiwi_description import kinematics as kin  # noqa: E402
from kiwi_driver.driver_node import time_msg  # noqa: E402
from kiwi_driver.sim_backend import SimBackend  # noqa: E402
from kiwi_recorder.bag import EpisodeBag  # noqa: E402
from kiwi_recorder.convert import convert  # noqa: E402
from kiwi_teleop.expert import Expert, WorldState  # noqa: E402


def record(path: Path, seconds: float, mapping: Mapping) -> None:
    sim = SimBackend()
    topics = {
        mapping.state_topic: "sensor_msgs/msg/JointState",
        mapping.arm_command_topic: "sensor_msgs/msg/JointState",
        mapping.cmd_vel_topic: "geometry_msgs/msg/Twist",
        mapping.intervention_topic: "std_msgs/msg/Bool",
        **{t: "sensor_msgs/msg/CompressedImage" for t in mapping.cameras.values()},
    }
    bag = EpisodeBag(path, topics)
    expert = Expert(1)  # once the cube is up it holds it: the episode runs its full length
    sim.reset(0, True)
    for _ in range(int(seconds * c.CONTROL_RATE_HZ)):
        stamp, ns = time_msg(sim.time), int(round(sim.time * 1e9))
        state = sim.read()
        js = JointState(
            name=list(c.ALL_JOINTS),
            position=[*map(float, state.arm_position), *map(float, state.wheel_position)],
            velocity=[*map(float, state.arm_velocity), *map(float, state.wheel_velocity)],
        )
        js.header.stamp = stamp
        bag.write(mapping.state_topic, ns, serialize_message(js))
        for cam, topic in mapping.cameras.items():
            spec = c.CAMERAS[cam]
            bag.write(
                topic,
                ns,
                serialize_message(to_compressed(sim.render(cam, spec.width, spec.height), stamp, cam)),
            )
        action = expert.act(WorldState.from_sim(sim))
        cmd = JointState(name=list(c.ARM_JOINTS), position=[float(v) for v in action.arm])
        cmd.header.stamp = stamp
        bag.write(mapping.arm_command_topic, ns, serialize_message(cmd))
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = action.twist
        bag.write(mapping.cmd_vel_topic, ns, serialize_message(twist))
        bag.write(mapping.intervention_topic, ns, serialize_message(Bool(data=False)))
        sim.write(np.array(action.arm), kin.clamp_wheel_speeds(kin.body_to_wheel_speeds(*action.twist)))
    bag.close()
    sim.close()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    mapping = Mapping()
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "episode_0000"
        t0 = time.perf_counter()
        record(bag, seconds, mapping)
        print(
            f"recorded a {seconds:g} s two-camera episode in {time.perf_counter() - t0:.1f} s "
            f"({sum(f.stat().st_size for f in bag.iterdir()) / 1e6:.0f} MB bag)"
        )
        t0 = time.perf_counter()
        summary = convert([bag], Path(tmp) / "dataset", progress=False)
        elapsed = time.perf_counter() - t0
    frames = summary["frames"]
    print(
        f"converted {frames} frames ({summary['seconds']:.1f} s at {summary['fps']:g} fps, 640x480 + 480x640, "
        f"AV1 video) in {elapsed:.1f} s: {frames / elapsed:.1f} frames/s, {summary['seconds'] / elapsed:.2f}x real time"
    )


if __name__ == "__main__":
    main()
