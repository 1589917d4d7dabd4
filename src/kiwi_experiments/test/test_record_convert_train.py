"""Issue 4's end-to-end check: the scripted expert drives the sim through the real record graph,
three episodes are recorded, converted with `kiwi convert`, loaded by LeRobot and trained on."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kiwi_common.features import MOTOR_NAMES
from kiwi_common.images import decode_image
from kiwi_description import constants as c

pytestmark = pytest.mark.integration
FPS = 30
EPISODE_S = 2.5


def bag_messages(bag: Path, topic: str):
    """{header stamp (ns): message} of one topic in a bag."""
    from kiwi_recorder.bag import deserialize, open_reader

    reader = open_reader(bag)
    conns = [x for x in reader.connections if x.topic == topic]
    msgs = [deserialize(d, x.msgtype) for x, _, d in reader.messages(connections=conns)]
    reader.close()
    return {m.header.stamp.sec * 10**9 + m.header.stamp.nanosec: m for m in msgs}


def test_record_convert_load_and_train(tmp_path, start_nodes, record_expert_episodes):
    bags = tmp_path / "bags"
    start_nodes(
        [
            sys.executable,
            "-m",
            "kiwi_experiments.cli",
            "launch",
            "record",
            "teleop:=expert",
            f"out_dir:={bags}",
            "task:=pick up the red cube",
        ]
    )
    saved = record_expert_episodes(3, EPISODE_S)
    episode_dirs = sorted(bags.glob("episode_*"))
    assert len(episode_dirs) == 3, saved

    out = tmp_path / "dataset"
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_experiments.cli", "convert", str(bags), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # The encoders' own lines (libav, SVT, LeRobot's logging) stay out of the terminal.
    assert "libx264" not in run.stderr and "Svt[" not in run.stderr and "INFO" not in run.stderr, run.stderr

    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot.utils.feature_utils import hw_to_dataset_features

    ds = LeRobotDataset("kiwi/test", root=out)
    # LeRobot's own LeKiwi schema, built by LeRobot's helper from LeKiwi's feature lists.
    motors = {name: float for name in MOTOR_NAMES}
    cameras = {cam: (spec.height, spec.width, 3) for cam, spec in c.CAMERAS.items()}
    expected = {
        **hw_to_dataset_features(motors, "action"),
        **hw_to_dataset_features({**motors, **cameras}, "observation"),
    }
    for key, feature in expected.items():
        got = ds.meta.features[key]
        assert (got["dtype"], tuple(got["shape"]), got["names"]) == (
            feature["dtype"],
            tuple(feature["shape"]),
            feature["names"],
        ), key
    user_keys = [
        k
        for k in ds.meta.features
        if k not in ("timestamp", "frame_index", "episode_index", "index", "task_index")
    ]
    assert user_keys == [*expected, "intervention"] or set(user_keys) == {*expected, "intervention"}
    assert ds.meta.features["intervention"]["dtype"] == "float32"
    assert ds.meta.total_episodes == 3 and ds.fps == FPS
    assert (out / "meta" / "kiwi_mapping.json").is_file()

    # Frame count = duration x fps within one frame, the duration being the span where joint states
    # and both cameras overlap (a camera's first frame may arrive a few ticks after the joints').
    streams = ("/joint_states", "/camera/front/image_raw/compressed", "/camera/wrist/image_raw/compressed")
    for index, bag in enumerate(episode_dirs):
        stamps = [sorted(bag_messages(bag, topic)) for topic in streams]
        duration = (min(s[-1] for s in stamps) - max(s[0] for s in stamps)) * 1e-9
        length = ds.meta.episodes[index]["length"]
        assert abs(length - round(duration * FPS, 6)) <= 1, (bag.name, length, duration)  # ns-rounded stamps

    # Spot check: frame 20 of episode 1 is the bag's joint state at that time, in LeRobot units.
    first = ds.meta.episodes[1]["dataset_from_index"]
    frame = ds[first + 20]
    joint_states = bag_messages(episode_dirs[1], "/joint_states")
    # The grid starts where the joint states and both cameras have a first message.
    start = max(
        min(bag_messages(episode_dirs[1], topic))
        for topic in (
            "/joint_states",
            "/camera/front/image_raw/compressed",
            "/camera/wrist/image_raw/compressed",
        )
    )
    msg = joint_states[min(joint_states, key=lambda s: abs(s - start - 20 * 1e9 / FPS))]
    position = dict(zip(msg.name, msg.position))
    gripper = c.ARM_LIMITS[c.GRIPPER_JOINT]
    expected_arm = [math.degrees(position[j]) for j in c.ARM_JOINTS[:-1]] + [
        (position[c.GRIPPER_JOINT] - gripper.lower) / (gripper.upper - gripper.lower) * 100
    ]
    np.testing.assert_allclose(frame["observation.state"][:6].numpy(), expected_arm, atol=1e-3)
    assert frame["observation.images.front"].shape == (3, 480, 640)
    # The videos hold every frame (none dropped by the encoders): the last frame of the episode is
    # the bag's image as of that time.
    length = ds.meta.episodes[1]["length"]
    fronts = bag_messages(episode_dirs[1], "/camera/front/image_raw/compressed")
    at_last = max(s for s in fronts if s <= start + (length - 1) * 1e9 / FPS + 1e3)
    recorded = decode_image(fronts[at_last], (480, 640)).astype(np.float64)
    stored = ds[first + length - 1]["observation.images.front"].numpy().transpose(1, 2, 0) * 255.0
    psnr = 10 * np.log10(255.0**2 / np.mean((stored - recorded) ** 2))
    assert psnr > 30, f"last frame PSNR {psnr:.1f} dB"
    assert frame["task"] == "pick up the red cube"
    # The expert drove: the recorded actions move the base.
    assert float(ds.hf_dataset["action"][first + 20][6]) > 0.05

    # lerobot-train runs a few steps on it on the CPU.
    train_dir = tmp_path / "train"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("lerobot-train")),
            "--dataset.repo_id=kiwi/test",
            f"--dataset.root={out}",
            "--policy.type=act",
            "--policy.device=cpu",
            "--policy.push_to_hub=false",
            "--policy.pretrained_backbone_weights=null",
            "--policy.dim_model=32",
            "--policy.dim_feedforward=64",
            "--policy.n_encoder_layers=1",
            "--policy.n_decoder_layers=1",
            "--policy.chunk_size=5",
            "--policy.n_action_steps=5",
            "--policy.use_vae=false",
            f"--output_dir={train_dir}",
            "--steps=2",
            "--batch_size=2",
            "--num_workers=0",
            "--log_freq=1",
            "--save_freq=2",
            "--wandb.enable=false",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (train_dir / "checkpoints" / "last" / "pretrained_model" / "model.safetensors").is_file()
