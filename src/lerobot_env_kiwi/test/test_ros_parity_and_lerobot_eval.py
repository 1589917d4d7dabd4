"""The env against the ROS graph, and LeRobot's own tools on it.

One recording of the ROS sim (driver + recorder over DDS, commands from a scripted probe answering
each tick's /clock, as the nodes on sim time do), converted by `kiwi convert`'s function with the front camera and the ground
truth: replaying the dataset's actions in the env from the same seed gives the dataset's
observations. Then `kiwi train` makes a tiny ACT from that dataset and `lerobot-eval --env.type=kiwi`
evaluates it: success printed, `eval_info.json` and rollout videos written (and lerobot-train
evaluates on the env during that training).
"""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytestmark = pytest.mark.integration

SEED = 7
IMAGE = (48, 64)
COMMAND_TICKS = 75  # 2.5 s of scripted commands
STATE_TOL = 1e-3  # LeRobot units: degrees, gripper 0..100, m/s, deg/s (measured: 4e-6)
ENVIRONMENT_TOL = 1e-5  # m (cube, obstacle) and the yaw encoding (measured: 6e-8)


def scripted_command(k: int):
    """Arm targets (rad, by joint) and base twist at the k-th commanded tick: every joint and
    every base axis moves, and changes from tick to tick (a one-tick timing error shows)."""
    arm = {
        "arm_shoulder_pan": 0.4 * math.sin(k / 12),
        "arm_shoulder_lift": -0.3 + 0.25 * math.cos(k / 9),
        "arm_elbow_flex": 0.3 * math.sin(k / 10),
        "arm_wrist_flex": 0.2 * math.sin(k / 8),
        "arm_wrist_roll": 0.5 * math.sin(k / 15),
        "arm_gripper": 0.6 + 0.5 * math.sin(k / 7),
    }
    twist = (0.15 * (1 - math.exp(-k / 10)), 0.05 * math.sin(k / 7), 0.4 * math.sin(k / 11))
    return arm, twist


def _call(executor, client, resend_s: float | None = None) -> str:
    """Call a Trigger service; `resend_s`: send again after that long without an answer (for an
    idempotent service: a server whose response writer has not yet matched this client drops
    the answer, which a loaded machine shows at a graph's start)."""
    from std_srvs.srv import Trigger

    deadline = time.monotonic() + 120  # the graph's start on a loaded machine
    while not client.service_is_ready() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    assert client.service_is_ready(), f"{client.srv_name} is not available after 120 s"
    deadline = time.monotonic() + 60
    while True:
        future = client.call_async(Trigger.Request())
        sent = time.monotonic()
        while not future.done() and time.monotonic() < deadline:
            if resend_s is not None and time.monotonic() - sent > resend_s:
                break
            executor.spin_once(timeout_sec=0.05)
        if future.done() or time.monotonic() >= deadline:
            break
        client.remove_pending_request(future)
    assert future.done() and future.result().success, f"{client.srv_name} did not answer"
    return future.result().message


def _record(bags, mapping_file):
    """Reset the sim to SEED, record, and drive it by the script, one command per tick: on the
    sim's /clock, which the driver publishes after the tick's state, as the nodes on sim time
    answer (the recorder stamps a Twist, which has no header, with its own sim clock)."""
    import rclpy
    from geometry_msgs.msg import Twist
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState
    from std_srvs.srv import Trigger

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("parity_probe", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    arm_pub = node.create_publisher(JointState, "/arm/command", 10)
    twist_pub = node.create_publisher(Twist, "/cmd_vel", 10)
    ticks = {"active": False, "sent": 0}
    # All clients now: each matches the graph while the first call waits.
    reset, start, save = (
        node.create_client(Trigger, name) for name in ("/sim/reset", "/recorder/start", "/recorder/save")
    )

    def on_clock(msg):
        if not ticks["active"] or ticks["sent"] >= COMMAND_TICKS:
            return
        arm, (vx, vy, wz) = scripted_command(ticks["sent"])
        command = JointState(name=list(arm), position=list(arm.values()))
        command.header.stamp = msg.clock  # as of the observation it answers: this tick's
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = vx, vy, wz
        arm_pub.publish(command)
        twist_pub.publish(twist)
        ticks["sent"] += 1

    node.create_subscription(Clock, "/clock", on_clock, 10)

    def spin(seconds, until=lambda: False):
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            executor.spin_once(timeout_sec=0.02)

    try:
        _call(executor, reset, resend_s=10)
        spin(1.0)  # the robot settles where the reset left it
        _call(executor, start)
        spin(1.0)
        ticks["active"] = True
        spin(120, until=lambda: ticks["sent"] >= COMMAND_TICKS)
        assert ticks["sent"] == COMMAND_TICKS
        spin(0.5)
        return _call(executor, save)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def _stop(procs) -> list[str]:
    """Interrupt the graph's processes (killed if one does not end in 30 s); what each printed."""
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=30)[0])
        except subprocess.TimeoutExpired:
            proc.kill()
            outputs.append(proc.communicate()[0] + "\n(killed: no exit 30 s after SIGINT)")
    return outputs


@pytest.fixture(scope="module")
def ros_dataset(tmp_path_factory, module_ros_domain):
    """A Kiwi dataset (front camera at IMAGE, environment state) of one scripted episode in the ROS sim."""
    from kiwi_common.features import GROUND_TRUTH_TOPICS, Mapping
    from kiwi_recorder.convert import convert, find_bags

    tmp = tmp_path_factory.mktemp("parity")
    mapping = Mapping(cameras={"front": Mapping().cameras["front"]}, ground_truth=dict(GROUND_TRUTH_TOPICS))
    mapping = mapping.with_image_size(*IMAGE)
    (tmp / "mapping.json").write_text(mapping.to_json())
    env = os.environ | {"ROS_DOMAIN_ID": module_ros_domain}
    python = sys.executable
    commands = [
        [
            python,
            "-m",
            "kiwi_experiments.cli",
            "launch",
            "sim",
            f"seed:={SEED}",
            "obstacle:=true",
            "sim_speed:=0.5",
            f"image_size:={IMAGE[0]}x{IMAGE[1]}",  # rendered as the env renders for that size
        ],
        [python, "-m", "kiwi_recorder.recorder_node", "--ros-args", "-p", f"out_dir:={tmp / 'bags'}"]
        + ["-p", f"mapping:={tmp / 'mapping.json'}", "-p", "use_sim_time:=true"],
    ]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        for cmd in commands
    ]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ROS_DOMAIN_ID", env["ROS_DOMAIN_ID"])
            saved = _record(tmp / "bags", tmp / "mapping.json")
    except BaseException as error:
        said = "\n".join(_stop(procs))
        if isinstance(error, AssertionError):
            raise AssertionError(f"{error}; the graph said:\n{said}") from None
        raise
    outputs = _stop(procs)
    assert all(proc.returncode == 0 for proc in procs), "\n".join(outputs)
    out = tmp / "dataset"
    convert(find_bags(tmp / "bags"), out, mapping=mapping, progress=False)
    return out, saved


def test_env_replays_the_ros_recording(ros_dataset):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_common.features import ENVIRONMENT_STATE

    root, _ = ros_dataset
    dataset = LeRobotDataset("local/parity", root=root)
    frames = dataset.hf_dataset.with_format("numpy")
    states = np.stack(frames["observation.state"])
    environment = np.stack(frames[ENVIRONMENT_STATE])
    actions = np.stack(frames["action"])
    # Before the first command the recorded action is the arm at rest and a still base.
    commanded = np.flatnonzero(np.abs(actions - actions[0]).max(axis=1) > 0.01)
    first = int(commanded[0])
    assert len(commanded) >= COMMAND_TICKS - 2, "the commands reach the recording"

    env = KiwiPickEnv(cameras=("front",), image_height=IMAGE[0], image_width=IMAGE[1])
    try:
        obs, _ = env.reset(seed=SEED)
        # At rest, as the ROS sim before its first command: the driver holds the arm's targets
        # where they were at the reset (the arm sags a little under them), the base still.
        hold = np.concatenate([obs["agent_pos"][:6], [0.0, 0.0, 0.0]])
        for _ in range(45):
            obs, *_ = env.step(hold)
        np.testing.assert_allclose(obs["agent_pos"], states[first], atol=STATE_TOL)
        np.testing.assert_allclose(obs["environment_state"], environment[first], atol=ENVIRONMENT_TOL)
        env_states, env_environment, env_images = [], [], []
        for k in range(first, len(actions) - 1):
            obs, *_ = env.step(actions[k])
            env_states.append(obs["agent_pos"])
            env_environment.append(obs["environment_state"])
            env_images.append(obs["pixels"]["front"])
    finally:
        env.close()
    state_error = np.abs(np.array(env_states) - states[first + 1 :]).max(axis=0)
    environment_error = np.abs(np.array(env_environment) - environment[first + 1 :]).max(axis=0)
    assert (state_error < STATE_TOL).all(), f"largest state errors per feature: {state_error}"
    assert (environment_error < ENVIRONMENT_TOL).all(), f"environment state errors: {environment_error}"
    # Images: the env renders what the converter stored (JPEG, then H.264 in the dataset).
    moved = np.abs(states[-1, -3:]).sum() + np.abs(environment[-1, :2] - environment[first, :2]).sum()
    assert moved > 0.05, "the scripted commands moved the robot"
    last = len(env_images) - 1
    stored = (dataset[first + 1 + last]["observation.images.front"].numpy().transpose(1, 2, 0) * 255).astype(
        float
    )
    psnr = 10 * np.log10(255.0**2 / np.mean((stored - env_images[last]) ** 2))
    assert psnr > 27, f"front image PSNR {psnr:.1f} dB"


def test_lerobot_eval_runs_a_kiwi_train_checkpoint(ros_dataset, tmp_path):
    root, _ = ros_dataset
    model = tmp_path / "act"
    tiny = ["--policy.dim_model=32", "--policy.dim_feedforward=64", "--policy.n_encoder_layers=1"]
    tiny += ["--policy.chunk_size=10", "--policy.n_action_steps=10"]
    env = ["--env.type=kiwi", "--env.cameras=front", f"--env.observation_height={IMAGE[0]}"]
    env += [f"--env.observation_width={IMAGE[1]}", "--env.episode_length=10"]
    # Vector envs of two envs, as LeRobot's defaults make them on a machine with 3 cores or more: in
    # processes (async, the default) in training, in this process (sync) in lerobot-eval below.
    during_training = [*env, "--env_eval_freq=2", "--eval.n_episodes=2", "--eval.batch_size=2"]
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiwi_experiments.cli",
            "train",
            str(root),
            "--policy",
            "act",
            "--out",
            str(model),
        ]
        + ["--steps", "2", "--batch-size", "2", "--", *tiny, *during_training],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    assert list((model / "eval").rglob("*.mp4")), "lerobot-train evaluated on the env during training"
    checkpoint = model / "checkpoints" / "last" / "pretrained_model"
    out = tmp_path / "eval"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "lerobot.scripts.lerobot_eval",
            f"--policy.path={checkpoint}",
            "--policy.device=cpu",
            *env,
            "--eval.n_episodes=2",
            "--eval.batch_size=2",
            "--eval.use_async_envs=false",
            f"--output_dir={out}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "pc_success" in run.stdout + run.stderr
    info = json.loads((out / "eval_info.json").read_text())
    overall = info["overall"]
    assert overall["n_episodes"] == 2 and 0.0 <= overall["pc_success"] <= 100.0
    videos = sorted(out.rglob("*.mp4"))
    assert videos and all(v.stat().st_size > 1000 for v in videos)
