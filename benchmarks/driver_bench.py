"""Driver benchmark: sim speed with and without cameras, and the driver's tick period at 30 Hz.

    .venv/bin/python benchmarks/driver_bench.py [--ticks 600] [--seconds 10] [--image-size 96x128]

Part 1 runs the sim backend as fast as it goes, in this process, for the same number of control
ticks: physics only; physics plus what the driver does per camera frame at LeRobot's sizes (render
both cameras, build the Image and JPEG CompressedImage messages); the same at the policy's image
size (`image_size`: each camera rendered at the smallest size of its aspect covering it, raw Image
messages, what `kiwi demo --observation images` records); and the gymnasium env stepping with both
cameras at that size. Part 2 starts the real driver node (sim, 30 Hz) as its own process, with and
without cameras, and reads its tick periods from /diagnostics (measured inside the node) and the
arrival periods of /joint_states here (what a subscriber sees). Part 3 runs the driver node as
fast as it goes (`sim_speed:=0`) and reads its speed from /clock: without cameras, with both at
full size, and at the policy's size, every frame read by a subscriber.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", "77")


def sim_speed(ticks: int, cameras: bool, image_size: tuple[int, int] | None = None) -> float:
    """x real time of the sim backend; with `cameras`, each tick's frames as the driver makes them
    (full size: Image and JPEG; at `image_size`: the raw Image the policy's recording reads)."""
    from builtin_interfaces.msg import Time

    from kiwi_common.images import render_size, to_compressed, to_image
    from kiwi_description import constants as c
    from kiwi_description import kinematics as kin
    from kiwi_driver.sim_backend import SimBackend

    sim = SimBackend()
    sim.reset(1, obstacle=True)
    wheels = kin.body_to_wheel_speeds(0.1, 0.0, 0.2)
    sizes = {name: render_size((spec.width, spec.height), image_size) for name, spec in c.CAMERAS.items()}
    start = time.perf_counter()
    for _ in range(ticks):
        sim.write(None, wheels)
        if cameras:
            for name, size in sizes.items():
                rgb = sim.render(name, *size)
                to_image(rgb, Time(), name)
                if image_size is None:
                    to_compressed(rgb, Time(), name)
    wall = time.perf_counter() - start
    sim.close()
    return ticks * sim.control_dt / wall


def env_speed(ticks: int, image_size: tuple[int, int]) -> float:
    """x real time of the gymnasium env observing both cameras at `image_size` (no ground truth),
    a still arm and a turning base commanded."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_description.constants import CONTROL_RATE_HZ

    env = KiwiPickEnv(
        cameras="front,wrist",
        image_height=image_size[0],
        image_width=image_size[1],
        environment_state=False,
        render_mode=None,
    )
    obs, _ = env.reset(seed=1)
    action = np.concatenate([obs["agent_pos"][:6], [0.1, 0.0, 20.0]]).astype(np.float32)
    start = time.perf_counter()
    for _ in range(ticks):
        env.step(action)
    wall = time.perf_counter() - start
    env.close()
    return ticks / CONTROL_RATE_HZ / wall


def driver_speed(seconds: float, cameras: bool, image_size: str = "") -> float:
    """x real time of the driver node at sim_speed 0, from /clock over `seconds` of wall time,
    every camera frame read by a subscriber here (raw Image at a policy's size, else JPEG)."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CompressedImage, Image

    args = ["-p", "sim_speed:=0.0", "-p", f"cameras:={'true' if cameras else 'false'}"]
    if image_size:
        args += ["-p", f"image_size:={image_size}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiwi_driver.driver_node", "--ros-args", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    rclpy.init()
    node = rclpy.create_node("driver_speed_bench")
    clock = []
    node.create_subscription(
        Clock,
        "/clock",
        lambda m: clock.append((time.perf_counter(), m.clock.sec + m.clock.nanosec * 1e-9)),
        10,
    )
    for cam in ("front", "wrist") if cameras else ():
        kind, topic = (Image, "image_raw") if image_size else (CompressedImage, "image_raw/compressed")
        node.create_subscription(kind, f"/camera/{cam}/{topic}", lambda _m: None, qos_profile_sensor_data)
    try:
        deadline = time.monotonic() + 60
        while len(clock) < 30 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        clock.clear()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.01)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    if len(clock) < 2:
        raise SystemExit("the driver published no /clock: did it start? (run it alone to see its error)")
    (t0, s0), (t1, s1) = clock[0], clock[-1]
    return (s1 - s0) / (t1 - t0)


def driver_periods(seconds: float, cameras: bool) -> dict[str, float]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiwi_driver.driver_node",
            "--ros-args",
            "-p",
            f"cameras:={'true' if cameras else 'false'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        return measure_periods(seconds, cameras)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def measure_periods(seconds: float, read_cameras: bool) -> dict[str, float]:
    """The running driver's tick periods for `seconds`: from its /diagnostics (measured inside the
    node) and from the arrivals of /joint_states here (what a subscriber sees)."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import JointState

    rclpy.init()
    node = rclpy.create_node("driver_bench")
    arrivals, timing = [], {}

    def on_diag(msg):
        for s in msg.status:
            if s.name == "driver: timing":
                timing.update({kv.key: float(kv.value) for kv in s.values})

    node.create_subscription(JointState, "/joint_states", lambda _m: arrivals.append(time.perf_counter()), 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    if read_cameras:  # the driver renders only for a reader: read the JPEGs, as the recorder and policy do
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage

        for cam in ("front", "wrist"):
            node.create_subscription(
                CompressedImage,
                f"/camera/{cam}/image_raw/compressed",
                lambda _m: None,
                qos_profile_sensor_data,
            )
    deadline = time.monotonic() + 60
    while not arrivals and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    arrivals.clear()
    end, window_end = time.monotonic() + seconds, time.perf_counter() + seconds
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    timing.clear()
    while not timing and time.monotonic() < end + 3:  # the next 1 Hz diagnostics (last 300 ticks)
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.shutdown()
    periods = np.diff([t for t in arrivals if t <= window_end]) * 1000.0  # not the wait above
    return {
        "node_p50": timing.get("period_p50_ms", float("nan")),
        "node_p99": timing.get("period_p99_ms", float("nan")),
        "sub_p50": float(np.percentile(periods, 50)),
        "sub_p99": float(np.percentile(periods, 99)),
        "sub_max": float(periods.max()),
        "late": int(np.sum(periods > 50.0)),
        "n": len(periods),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--image-size", default="96x128", help="the policy's image size HxW")
    args = parser.parse_args()
    from kiwi_common.images import parse_image_size

    shape = parse_image_size(args.image_size)
    print(f"machine: {os.cpu_count()} CPUs; MUJOCO_GL={os.environ['MUJOCO_GL']}")
    print(f"\n1. sim speed, {args.ticks} ticks of 1/30 s (x real time, higher is better)")
    without = sim_speed(args.ticks, cameras=False)
    with_cams = sim_speed(args.ticks, cameras=True)
    small = sim_speed(args.ticks, cameras=True, image_size=shape)
    in_env = env_speed(args.ticks, shape)
    print(f"   physics only                              {without:8.1f} x")
    print(f"   physics + 2 cameras (640x480, 480x640)    {with_cams:8.1f} x")
    print(f"   physics + 2 cameras for {args.image_size:<17} {small:8.1f} x")
    print(f"   env, 2 cameras at {args.image_size:<23} {in_env:8.1f} x")
    print(f"\n2. driver node (sim) at 30 Hz for {args.seconds:g} s: tick period in ms (target 33.33)")
    print("   cameras   node p50  node p99 | subscriber p50   p99    max  late(>50 ms)  n")
    for cams in (False, True):
        r = driver_periods(args.seconds, cams)
        print(
            f"   {'on ' if cams else 'off'}       {r['node_p50']:8.2f}  {r['node_p99']:8.2f} | "
            f"{r['sub_p50']:14.2f} {r['sub_p99']:6.2f} {r['sub_max']:6.2f} {r['late']:8d} {r['n']:6d}"
        )
    print(f"\n3. driver node (sim) as fast as it goes for {args.seconds:g} s, every frame read (x real time)")
    for label, cams, size in (
        ("no cameras", False, ""),
        ("2 cameras (640x480, 480x640), JPEG", True, ""),
        (f"2 cameras for {args.image_size}, raw", True, args.image_size),
    ):
        print(f"   {label:<39} {driver_speed(args.seconds, cams, size):8.1f} x")


if __name__ == "__main__":
    main()
