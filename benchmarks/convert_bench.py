"""Conversion speed, side by side: one 60 s two-camera episode (LeRobot's sizes) -> LeRobotDataset v3
with LeRobot 0.6.1's default writer settings and with Kiwi's (and a slower, smaller H.264 preset).

The episode is the scripted expert in the sim (cameras rendered, JPEG as the recorder stores them),
written as a bag with the recorder's writer; each conversion is `kiwi convert`'s function. Prints,
per setting: frames/s, x real time, PSNR of the dataset's video frames against the recorded frames
(every 10th frame, both cameras), and the videos' size.
Run: .venv/bin/python benchmarks/convert_bench.py [seconds]
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

from kiwi_common.features import (
    Mapping,  # noqa: E402
    image_feature,  # noqa: E402
)
from kiwi_common.images import decode_image, to_compressed  # noqa: E402
from kiwi_common.stamps import time_msg  # noqa: E402
from kiwi_description import constants as c  # noqa: E402
from kiwi_description import kinematics as kin  # noqa: E402
from kiwi_driver.sim_backend import SimBackend  # noqa: E402
from kiwi_recorder.bag import EpisodeBag  # noqa: E402
from kiwi_recorder.convert import convert, read_episode  # noqa: E402
from kiwi_recorder.video import KIWI_VIDEO, LEROBOT_VIDEO, VideoSettings  # noqa: E402
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


def psnr_and_size(dataset: Path, bag: Path, mapping: Mapping, every: int = 10) -> tuple[float, float]:
    """Mean PSNR (dB) of every `every`-th video frame against the recorded frame it came from, and
    the videos' size (MB)."""
    import av

    episode = read_episode(bag, mapping, mapping.fps)
    errors = []
    for cam, msgs in episode.images.items():
        (video,) = (dataset / "videos" / image_feature(cam)).rglob("*.mp4")
        with av.open(str(video)) as container:
            for k, frame in enumerate(container.decode(video=0)):
                if k % every == 0:
                    decoded = frame.to_ndarray(format="rgb24").astype(np.float64)
                    recorded = decode_image(msgs[k], mapping.image_shapes[cam]).astype(np.float64)
                    errors.append(np.mean((decoded - recorded) ** 2))
        assert k + 1 == len(msgs), f"{cam}: {k + 1} video frames for {len(msgs)} recorded"
    size = sum(f.stat().st_size for f in (dataset / "videos").rglob("*.mp4")) / 1e6
    return float(10 * np.log10(255.0**2 / np.mean(errors))), size


SETTINGS = {
    "LeRobot defaults": LEROBOT_VIDEO,
    "Kiwi default": KIWI_VIDEO,
    "h264 veryfast": VideoSettings(preset="veryfast"),
}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    mapping = Mapping()
    with tempfile.TemporaryDirectory() as tmp:
        bag = Path(tmp) / "episode_0000"
        t0 = time.perf_counter()
        record(bag, seconds, mapping)
        print(
            f"recorded a {seconds:g} s two-camera episode (640x480 + 480x640 JPEG) in {time.perf_counter() - t0:.1f} s "
            f"({sum(f.stat().st_size for f in bag.iterdir()) / 1e6:.0f} MB bag)"
        )
        print(f"{'setting':18} {'encoding':44} {'frames/s':>8} {'x real time':>11} {'PSNR dB':>8} {'MB':>6}")
        for name, video in SETTINGS.items():
            out = Path(tmp) / name.replace(" ", "_")
            t0 = time.perf_counter()
            summary = convert([bag], out, progress=False, video=video)
            elapsed = time.perf_counter() - t0
            psnr, size = psnr_and_size(out, bag, mapping)
            print(
                f"{name:18} {video.describe():44} {summary['frames'] / elapsed:8.1f} "
                f"{summary['seconds'] / elapsed:11.2f} {psnr:8.1f} {size:6.1f}"
            )


if __name__ == "__main__":
    main()
