"""Issue 5's end-to-end check: record sim episodes, train a tiny ACT and a tiny Diffusion policy
(and a tiny kiwi_mlp mixture, the lerobot_policy_kiwi plugin, on the state-only conversion),
deploy each through `kiwi launch policy`, and watch commands reach the driver at control_hz while
inference runs on its worker thread. A checkpoint that does not fit the mapping is refused."""

import json
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration
CONTROL_HZ = 30.0
ACTIONS_PER_CHUNK = {"act": 10, "diffusion": 8, "kiwi_mlp": 6}
TINY = {
    "act": [
        "--policy.dim_model=32",
        "--policy.dim_feedforward=64",
        "--policy.n_encoder_layers=1",
        "--policy.chunk_size=10",
        f"--policy.n_action_steps={ACTIONS_PER_CHUNK['act']}",
    ],
    "diffusion": [
        "--policy.down_dims=[16,32]",
        "--policy.horizon=16",
        f"--policy.n_action_steps={ACTIONS_PER_CHUNK['diffusion']}",
        "--policy.num_inference_steps=2",
    ],
    "kiwi_mlp": [
        "--policy.head=mixture",
        "--policy.hidden_dim=32",
        "--policy.chunk_size=8",
        f"--policy.n_action_steps={ACTIONS_PER_CHUNK['kiwi_mlp']}",
    ],
}


def kiwi(*args, timeout=600):
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_experiments.cli", *args], capture_output=True, text=True, timeout=timeout
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def policy_diagnostics(msgs):
    return [
        dict((kv.key, kv.value) for kv in s.values)
        for m in msgs
        for s in m.status
        if s.name == "policy: policy"
    ]


def test_train_deploy_act_and_diffusion(tmp_path, start_nodes, ros_probe, record_expert_episodes):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Path
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState
    from trajectory_msgs.msg import JointTrajectory

    bags = tmp_path / "bags"
    recording = start_nodes(
        [
            sys.executable,
            "-m",
            "kiwi_experiments.cli",
            "launch",
            "record",
            "teleop:=expert",
            f"out_dir:={bags}",
        ]
    )
    record_expert_episodes(2, 2.0)
    recording.send_signal(signal.SIGINT)
    recording.wait(timeout=30)
    dataset = tmp_path / "dataset"
    kiwi("convert", str(bags), "--out", str(dataset), "--image-size", "48x64")  # one size: Diffusion needs it
    state_only = tmp_path / "state_only"
    kiwi("convert", str(bags), "--out", str(state_only), "--state-only")

    arm_times, twists, chunks, diags, paths = [], [], [], [], []
    node = ros_probe.node
    # The graph runs on the sim's clock, which a loaded 2-core machine may run slower than real time:
    # the rate that matters is per second of sim time.
    sim_now = [0.0]
    node.create_subscription(
        Clock, "/clock", lambda m: sim_now.__setitem__(0, m.clock.sec + m.clock.nanosec * 1e-9), 10
    )
    node.create_subscription(JointState, "/arm/command", lambda m: arm_times.append(sim_now[0]), 10)
    node.create_subscription(Twist, "/cmd_vel", twists.append, 10)
    node.create_subscription(JointTrajectory, "/policy/chunk", chunks.append, 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    node.create_subscription(Path, "/policy/planned_path", paths.append, 10)

    for policy, data in (("act", dataset), ("diffusion", dataset), ("kiwi_mlp", state_only)):
        out = tmp_path / policy
        kiwi(
            "train",
            str(data),
            "--policy",
            policy,
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--",
            *TINY[policy],
        )
        trained = out / "checkpoints" / "last" / "pretrained_model"
        assert (trained / "kiwi_mapping.json").is_file()
        scaled = json.loads((trained / "config.json").read_text())["normalization_mapping"]
        assert "ENV" in scaled, f"{policy}: the cube's and obstacle's positions reach it unscaled"

        for log in (arm_times, twists, chunks, diags, paths):
            log.clear()
        graph = start_nodes(
            [
                sys.executable,
                "-m",
                "kiwi_experiments.cli",
                "launch",
                "policy",
                f"model:={out}",
                f"control_hz:={CONTROL_HZ}",
            ]
        )
        assert ros_probe.spin_until(lambda: len(chunks) >= 3, 120), (
            f"{policy}: no chunks from the policy node"
        )
        start, n0 = sim_now[0], len(arm_times)
        ros_probe.spin_for(4.0)
        rate = (len(arm_times) - n0) / (sim_now[0] - start)
        assert rate == pytest.approx(CONTROL_HZ, rel=0.15), f"{policy}: /arm/command at {rate:.1f} Hz"
        assert twists, f"{policy}: no /cmd_vel reached the driver"
        assert ros_probe.spin_until(lambda: policy_diagnostics(diags), 5)
        d = policy_diagnostics(diags)[-1]
        # Inference ran many times on the worker while the timer kept ticking.
        assert int(d["chunks"]) >= 5 and float(d["inference_ms_p50"]) > 0, d
        assert int(d["ticks"]) > 3 * int(d["chunks"]) or int(d["ticks"]) > 60, d
        # Diffusion (the DDIM preset) samples from half LeRobot's noise unless told; others have no sampler.
        assert d["diffusion_noise"] == ("0.5" if policy == "diffusion" else "1"), d
        # A human intervention ends (the mux publishes /intervention false right after): the policy
        # is not reset and drives on from its own plan (test_runtime.py: no dry start at the hand-back).
        from std_msgs.msg import Bool

        flag = node.create_publisher(Bool, "/intervention", 10)
        resets = int(d["resets"])
        flag.publish(Bool(data=True))
        count = len(diags)
        assert ros_probe.spin_until(lambda before=count: len(diags) >= before + 2, 5)
        after = policy_diagnostics(diags)[-1]
        assert int(after["resets"]) == resets, "hand-back resets the policy"
        assert after["running"] == "true" and int(after["chunks"]) > int(d["chunks"])
        node.destroy_publisher(flag)
        trajectory = chunks[-1]
        assert trajectory.joint_names[:6] == [
            "arm_shoulder_pan",
            "arm_shoulder_lift",
            "arm_elbow_flex",
            "arm_wrist_flex",
            "arm_wrist_roll",
            "arm_gripper",
        ]
        assert len(trajectory.points) == ACTIONS_PER_CHUNK[policy]
        assert trajectory.points[1].time_from_start.nanosec == pytest.approx(1e9 / 30, abs=1e3)
        # The same plan's base path for rviz: as many poses, starting where the chunk starts.
        assert ros_probe.spin_until(lambda: paths, 5)
        assert len(paths[-1].poses) == ACTIONS_PER_CHUNK[policy] and paths[-1].header.frame_id == "base_link"
        assert paths[-1].poses[0].pose.position.x == 0.0 and paths[-1].poses[0].pose.orientation.w == 1.0
        graph.send_signal(signal.SIGINT)
        assert graph.wait(timeout=30) == 0, "".join(graph.output)[-3000:]
        # The next graph's sim starts its clock at 0: none of this one's /clock may still arrive.
        assert ros_probe.spin_until(lambda: node.count_publishers("/clock") == 0, 15), (
            "the sim outlived its graph"
        )
        ros_probe.spin_for(0.5)
        sim_now[0] = 0.0

    # The policy on another machine (remote_policy) driving the sim started as its own launch: on
    # sim time the robot moves under it; on wall time it refuses the sim's stamps, saying why.
    remote_policy_drives_the_sim(start_nodes, ros_probe, tmp_path / "act", diags)

    # A checkpoint whose features do not fit the robot's mapping is refused, naming the mismatch.
    from kiwi_common.features import Mapping

    wrong = tmp_path / "wrong_mapping.json"
    wrong.write_text(Mapping().with_image_size(96, 128).to_json())
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiwi_policy.policy_node",
            "--ros-args",
            "-p",
            f"model:={tmp_path / 'act'}",
            "-p",
            f"mapping:={wrong}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert (
        "observation.images.front: the checkpoint expects shape (3, 48, 64), the mapping gives (3, 96, 128)"
        in run.stderr
    )
    assert "observation.images.wrist" in run.stderr

    # So is a sampler's noise for a policy that has no sampler.
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_policy.policy_node", "--ros-args"]
        + ["-p", f"model:={tmp_path / 'act'}", "-p", "diffusion_noise:=0.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "diffusion_noise is for Diffusion, not 'act'" in run.stderr


def remote_policy_drives_the_sim(start_nodes, ros_probe, model, diags):
    from nav_msgs.msg import Odometry

    odom = []
    ros_probe.node.create_subscription(Odometry, "/odom", odom.append, 10)
    launch = [sys.executable, "-m", "kiwi_experiments.cli", "launch"]
    start_nodes([*launch, "sim"])
    for use_sim_time in ("false", "true"):
        diags.clear()
        remote = start_nodes([*launch, "remote_policy", f"model:={model}", f"use_sim_time:={use_sim_time}"])
        assert ros_probe.spin_until(lambda: policy_diagnostics(diags) and odom, 120), "no policy diagnostics"
        if use_sim_time == "false":
            assert ros_probe.spin_until(
                lambda: "use_sim_time:=true" in policy_diagnostics(diags)[-1]["last_problem"], 20
            ), policy_diagnostics(diags)[-1]
            assert int(policy_diagnostics(diags)[-1]["chunks"]) == 0
        else:  # after the last graph's diagnostics: this policy's first chunks
            assert ros_probe.spin_until(
                lambda: diags and int(policy_diagnostics(diags)[-1]["chunks"]) > 0, 120
            ), policy_diagnostics(diags)[-1]
            start = odom[-1].pose.pose.position
            ros_probe.spin_for(4.0)
            end = odom[-1].pose.pose.position
            moved = ((end.x - start.x) ** 2 + (end.y - start.y) ** 2) ** 0.5
            assert int(policy_diagnostics(diags)[-1]["chunks"]) > 0
            assert moved > 0.01, f"the base moved {moved:.3f} m in 4 s under the policy"
        remote.send_signal(signal.SIGINT)
        assert remote.wait(timeout=30) == 0, "".join(remote.output)[-3000:]
