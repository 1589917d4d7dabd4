"""Policy benchmark: control tick timing of the policy node against a synchronous control loop.

    .venv/bin/python benchmarks/policy_bench.py [--seconds 20] [--image-size 96x128] [--chunk 30]
        [--policies act,kiwi_mlp_images,kiwi_mlp_state]

Each policy, random weights, is saved as a checkpoint with its mapping:
- act: LeRobot's ACT at its default architecture (dim_model 512, 4+1 layers, ResNet18; chunk and
  n_action_steps = --chunk), both cameras (JPEG) at --image-size;
- kiwi_mlp_images: Kiwi's camera kiwi_mlp as `kiwi demo --observation images` trains it (both
  cameras raw at --image-size, the joints and wheels; chunk 10);
- kiwi_mlp_state: the state kiwi_mlp of the default loop (joints, wheels and the sim's ground
  truth of cube and obstacle; chunk 10).
First the time one chunk's inference takes in this process (p50 of 50 calls, 1 torch thread).
Then each drives the sim (both cameras rendered for --image-size, 30 Hz) twice, each time for
--seconds:

(a) the `policy` node: inference on its worker thread, commands from a 30 Hz timer;
(b) a synchronous loop as LeRobot's record loop runs a policy: each control step reads the latest
    observation, calls `select_action` (which runs the whole chunk inference whenever its queue is
    empty), publishes, then waits out the rest of the period.

Both publish /policy/arm/command; this process times their arrival (the control tick as the robot
sees it): period p50/p99/max and ticks later than 1.5 periods. Torch uses 1 thread in both.
Each is measured twice: on an otherwise idle machine, and with every core kept busy by a CPU hog
(one spinning process per core, at normal priority: a laptop compiling, a browser tab).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_DOMAIN_ID", "79")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
HZ = 30.0


def make_checkpoint(folder: Path, kind: str, height: int, width: int, chunk: int) -> Path:
    """A checkpoint of `kind` (random weights, the dataset statistics of a unit normal) plus its
    Kiwi mapping."""
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies import make_pre_post_processors
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot_policy_kiwi.configuration_kiwi_mlp import KiwiMlpConfig
    from lerobot_policy_kiwi.modeling_kiwi_mlp import KiwiMlpPolicy

    from kiwi_common.features import ENVIRONMENT_NAMES, ENVIRONMENT_STATE, MAPPING_FILE, Mapping
    from kiwi_experiments.plan import demo_mapping

    mapping = {
        "act": Mapping().with_image_size(height, width),
        "kiwi_mlp_images": demo_mapping("images").with_image_size(height, width),
        "kiwi_mlp_state": demo_mapping("state"),
    }[kind]
    features = {"observation.state": PolicyFeature(FeatureType.STATE, (9,))}
    features |= {
        f"observation.images.{cam}": PolicyFeature(FeatureType.VISUAL, (3, height, width))
        for cam in mapping.cameras
    }
    if mapping.ground_truth:
        features[ENVIRONMENT_STATE] = PolicyFeature(FeatureType.ENV, (len(ENVIRONMENT_NAMES),))
    action = {"action": PolicyFeature(FeatureType.ACTION, (9,))}
    if kind == "act":
        config = ACTConfig(
            input_features=features,
            output_features=action,
            chunk_size=chunk,
            n_action_steps=chunk,
            pretrained_backbone_weights=None,
            device="cpu",
        )
        policy = ACTPolicy(config)
    else:
        config = KiwiMlpConfig(input_features=features, output_features=action, device="cpu")
        policy = KiwiMlpPolicy(config)
    stats = {
        key: {"mean": torch.full((3, 1, 1), 0.5), "std": torch.full((3, 1, 1), 0.25)}
        if feature.type is FeatureType.VISUAL
        else {"mean": torch.zeros(feature.shape), "std": torch.ones(feature.shape)}
        for key, feature in (features | action).items()
    }
    pre, post = make_pre_post_processors(config, dataset_stats=stats)
    for part in (policy, pre, post):
        part.save_pretrained(folder)
    (folder / MAPPING_FILE).write_text(mapping.to_json())
    return folder


def inference_ms(checkpoint: Path, repeats: int = 50) -> float:
    """p50 of one chunk's inference (preprocessing, the network, postprocessing), 1 torch thread."""
    from kiwi_common.features import ENVIRONMENT_NAMES, ENVIRONMENT_STATE, image_feature
    from kiwi_policy.checkpoint import load_policy
    from kiwi_policy.inference import ChunkPredictor

    loaded = load_policy(str(checkpoint))
    predictor = ChunkPredictor(loaded, threads=1)
    rng = np.random.default_rng(0)
    obs = {"observation.state": rng.normal(size=9).astype(np.float32)}
    for cam, (h, w) in loaded.mapping.image_shapes.items():
        obs[image_feature(cam)] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if loaded.mapping.ground_truth:
        obs[ENVIRONMENT_STATE] = rng.normal(size=len(ENVIRONMENT_NAMES)).astype(np.float32)
    times = []
    for _ in range(repeats + 5):
        predictor.reset()
        start = time.perf_counter()
        predictor.predict([obs])
        times.append(time.perf_counter() - start)
    return float(np.median(times[5:]) * 1e3)


def sync_loop(checkpoint: str, seconds: float) -> None:
    """(b): LeRobot's way: observe, select_action (chunk inference when the queue is empty), act, wait."""
    import rclpy
    import torch
    from geometry_msgs.msg import PoseStamped
    from lerobot.policies.utils import prepare_observation_for_inference
    from nav_msgs.msg import Odometry
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage, Image, JointState

    from kiwi_common.features import (
        ENVIRONMENT_STATE,
        ground_truth_observation,
        image_feature,
        joint_state_observation,
        split_action,
    )
    from kiwi_common.images import decode_image
    from kiwi_policy.checkpoint import load_policy

    torch.set_num_threads(1)
    loaded = load_policy(checkpoint)
    mapping = loaded.mapping
    rclpy.init()
    node = rclpy.create_node("sync_policy_loop", parameter_overrides=[])
    latest: dict = {}
    node.create_subscription(JointState, "/joint_states", lambda m: latest.__setitem__("state", m), 10)
    for cam, topic in mapping.cameras.items():
        kind = CompressedImage if topic.endswith("/compressed") else Image
        node.create_subscription(
            kind, topic, lambda m, cam=cam: latest.__setitem__(cam, m), qos_profile_sensor_data
        )
    for role, topic in mapping.ground_truth.items():
        kind = Odometry if role == "robot" else PoseStamped
        node.create_subscription(kind, topic, lambda m, role=role: latest.__setitem__(role, m), 10)
    pub = node.create_publisher(JointState, "/policy/arm/command", 10)
    spinner = threading.Thread(target=rclpy.spin, args=(node,), daemon=True)
    spinner.start()
    while len(latest) < 1 + len(mapping.cameras) + len(mapping.ground_truth):
        time.sleep(0.05)
    period, end = 1.0 / HZ, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        state = latest["state"]
        vector, _ = joint_state_observation(state.name, state.position, state.velocity)
        obs = {"observation.state": vector}
        for cam in mapping.cameras:
            obs[image_feature(cam)] = decode_image(latest[cam], mapping.image_shapes[cam])
        if mapping.ground_truth:
            obs[ENVIRONMENT_STATE] = ground_truth_observation(
                *(latest[r] for r in ("robot", "cube", "obstacle"))
            )
        with torch.inference_mode():
            batch = loaded.preprocessor(
                prepare_observation_for_inference(obs, torch.device("cpu"), "", "lekiwi")
            )
            action = loaded.postprocessor(loaded.policy.select_action(batch))[0].numpy()
        arm, _ = split_action(action)
        pub.publish(JointState(name=list(arm), position=list(arm.values())))
        while time.perf_counter() - start < period:  # LeRobot's busy_wait
            time.sleep(0.0005)
    rclpy.shutdown()


def measure(argv: list[str], seconds: float, warmup: float) -> tuple[np.ndarray, str]:
    """Start a command, time /policy/arm/command arrivals for `seconds` after `warmup` s of them."""
    import rclpy
    from sensor_msgs.msg import JointState

    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    arrivals: list[float] = []
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("policy_bench", context=context)
    node.create_subscription(
        JointState, "/policy/arm/command", lambda _m: arrivals.append(time.perf_counter()), 100
    )
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.perf_counter() + 180
    while not arrivals and time.perf_counter() < deadline and proc.poll() is None:
        executor.spin_once(timeout_sec=0.05)
    if not arrivals:
        proc.kill()
        raise SystemExit(f"no commands from {' '.join(argv)}:\n{proc.stdout.read()[-3000:]}")
    first = arrivals[0] + warmup
    while time.perf_counter() < first + seconds and proc.poll() is None:
        executor.spin_once(timeout_sec=0.01)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out = proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out = proc.communicate()[0]
    node.destroy_node()
    rclpy.shutdown(context=context)
    times = np.array([t for t in arrivals if first <= t <= first + seconds])
    return np.diff(times) * 1e3, out


@contextlib.contextmanager
def cpu_hogs(count: int):
    """`count` processes spinning at normal priority for the length of the block."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def report(label: str, periods_ms: np.ndarray) -> dict:
    late = int((periods_ms > 1.5 * 1e3 / HZ).sum())
    row = {
        "p50": np.percentile(periods_ms, 50),
        "p99": np.percentile(periods_ms, 99),
        "max": periods_ms.max(),
        "late": late,
        "n": len(periods_ms) + 1,
    }
    print(
        f"   {label:<46} {row['p50']:7.2f} {row['p99']:8.2f} {row['max']:8.2f} {late:6d} {row['n']:6d}",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--image-size", default="96x128")
    parser.add_argument("--chunk", type=int, default=30, help="ACT's chunk")
    parser.add_argument("--policies", default="act,kiwi_mlp_images,kiwi_mlp_state")
    parser.add_argument(
        "--sync-loop", default=None, help=argparse.SUPPRESS
    )  # internal: run (b) in this process
    args = parser.parse_args()
    if args.sync_loop:
        sync_loop(args.sync_loop, args.seconds + args.warmup + 5)
        return
    height, width = (int(v) for v in args.image_size.split("x"))
    kinds = args.policies.split(",")
    with tempfile.TemporaryDirectory(prefix="kiwi-policy-bench-") as tmp:
        checkpoints = {
            kind: make_checkpoint(Path(tmp) / kind, kind, height, width, args.chunk) for kind in kinds
        }
        print(
            f"One chunk's inference in this process, 1 torch thread, both cameras at {height}x{width} (p50, ms)"
        )
        for kind, checkpoint in checkpoints.items():
            print(f"   {kind:<46} {inference_ms(checkpoint):7.2f}", flush=True)
        sim = subprocess.Popen(
            [sys.executable, "-m", "kiwi_experiments.cli", "launch", "sim", "obstacle:=true"]
            + [f"image_size:={height}x{width}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            print(
                f"\nControl at {HZ:g} Hz, the sim with both cameras rendering for {height}x{width}; "
                f"{args.seconds:g} s each, 1 torch thread (ACT: chunk {args.chunk})"
            )
            print(
                f"   {'command tick period (ms)':<46} {'p50':>7} {'p99':>8} {'max':>8} {'late':>6} {'n':>6}"
                f"   (late: > {1.5e3 / HZ:.0f} ms)"
            )
            rows = {}
            for kind, checkpoint in checkpoints.items():
                node = [
                    sys.executable,
                    "-m",
                    "kiwi_policy.policy_node",
                    "--ros-args",
                    "-p",
                    f"model:={checkpoint}",
                ]
                node += ["-p", f"control_hz:={HZ}", "-p", "torch_threads:=1"]
                sync = [sys.executable, __file__, "--sync-loop", str(checkpoint)]
                sync += ["--seconds", str(args.seconds), "--warmup", str(args.warmup)]
                for load in ("idle", "loaded"):
                    with cpu_hogs(os.cpu_count() if load == "loaded" else 0):
                        for name, argv in (("(a) node", node), ("(b) sync loop", sync)):
                            periods, _ = measure(argv, args.seconds, args.warmup)
                            rows[kind, load, name[:3]] = report(f"{kind} {name}, {load}", periods)
        finally:
            os.killpg(sim.pid, signal.SIGINT)
            sim.wait(timeout=30)
    for kind in kinds:
        for load in ("idle", "loaded"):
            a, b = rows[kind, load, "(a)"], rows[kind, load, "(b)"]
            print(
                f"   {kind} {load}: ratio (b)/(a): p99 {b['p99'] / a['p99']:.2f}x, max {b['max'] / a['max']:.2f}x, "
                f"late ticks {b['late']} vs {a['late']}"
            )


if __name__ == "__main__":
    main()
