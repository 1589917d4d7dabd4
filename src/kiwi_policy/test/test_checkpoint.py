"""Checkpoint resolution and feature checks, the chunk trajectory, and the training command."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from kiwi_common.features import Mapping
from kiwi_policy import checkpoint
from kiwi_policy.checkpoint import CheckpointError, feature_mismatches, find_mapping, resolve_model
from kiwi_policy.train import CPU_DEFAULTS, TRAINING_STEPS, TrainError, thread_settings, train, train_command
from kiwi_policy.trajectory import CHUNK_JOINTS, chunk_trajectory


def act_config(state=9, action=9, images=None):
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig

    images = images or {"front": (3, 48, 64), "wrist": (3, 48, 64)}
    inputs = {"observation.state": PolicyFeature(FeatureType.STATE, (state,))}
    inputs |= {
        f"observation.images.{cam}": PolicyFeature(FeatureType.VISUAL, shape) for cam, shape in images.items()
    }
    return ACTConfig(
        input_features=inputs,
        output_features={"action": PolicyFeature(FeatureType.ACTION, (action,))},
        pretrained_backbone_weights=None,
        device="cpu",
    )


def test_matching_features_pass_and_each_mismatch_is_named():
    mapping = Mapping().with_image_size(48, 64)
    assert feature_mismatches(act_config(), mapping) == []
    problems = feature_mismatches(
        act_config(state=7, images={"front": (3, 96, 128), "top": (3, 48, 64)}), mapping
    )
    text = "\n".join(problems)
    assert len(problems) == 3, problems
    assert "observation.state: the checkpoint expects shape (7,), the mapping gives (9,)" in text
    assert (
        "observation.images.front: the checkpoint expects shape (3, 96, 128), the mapping gives (3, 48, 64)"
        in text
    )
    assert "observation.images.top VISUAL (3, 48, 64): the robot's mapping has no such feature" in text


def test_a_state_only_policy_needs_a_mapping_with_ground_truth():
    from lerobot.configs.types import FeatureType, PolicyFeature

    config = act_config()
    config.input_features = {
        "observation.state": config.input_features["observation.state"],
        "observation.environment_state": PolicyFeature(FeatureType.ENV, (8,)),
    }
    assert feature_mismatches(config, Mapping().state_only()) == []
    problems = feature_mismatches(config, Mapping())
    assert len(problems) == 1 and problems[0].startswith(
        "observation.environment_state ENV (8,): the robot's mapping"
    )


def make_checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_model_is_a_path_or_a_type_in_the_models_folder(tmp_path, monkeypatch):
    run = tmp_path / "run"
    pretrained = make_checkpoint(run / "checkpoints" / "last" / "pretrained_model")
    assert resolve_model(str(run)) == pretrained
    assert resolve_model(str(pretrained)) == pretrained
    monkeypatch.setattr(checkpoint, "workspace_root", lambda: tmp_path / "workspace")  # not this checkout's
    monkeypatch.setenv("KIWI_MODELS", str(tmp_path / "models"))
    typed = make_checkpoint(tmp_path / "models" / "diffusion" / "checkpoints" / "last" / "pretrained_model")
    assert resolve_model("diffusion") == typed
    with pytest.raises(CheckpointError, match="kiwi train DATASET --policy act"):
        resolve_model("act")
    with pytest.raises(CheckpointError, match="no LeRobot checkpoint"):
        resolve_model(str(tmp_path / "nowhere"))


def test_a_bare_name_is_found_along_one_search_path_from_any_folder(tmp_path, monkeypatch):
    """$KIWI_MODELS first, then the workspace's data/models; never the current folder."""
    workspace = tmp_path / "ws"
    (workspace / "src" / "kiwi_policy").mkdir(parents=True)
    (workspace / "src" / "kiwi_policy" / "package.xml").write_text("<package/>")
    module = workspace / "install" / "kiwi_policy" / "lib" / "kiwi_policy" / "checkpoint.py"
    assert checkpoint.workspace_root(module) == workspace  # a plain colcon install
    assert checkpoint.workspace_root(tmp_path / "elsewhere" / "checkpoint.py") is None
    monkeypatch.setattr(checkpoint, "workspace_root", lambda: workspace)
    monkeypatch.delenv("KIWI_MODELS", raising=False)
    in_workspace = make_checkpoint(workspace / "data" / "models" / "act" / "pretrained_model")
    elsewhere = tmp_path / "cwd"
    make_checkpoint(elsewhere / "data" / "models" / "act" / "pretrained_model")
    make_checkpoint(elsewhere / "act" / "pretrained_model")
    monkeypatch.chdir(elsewhere)
    assert resolve_model("act") == in_workspace
    assert resolve_model("./act") == elsewhere / "act" / "pretrained_model"
    assert checkpoint.models_root() == workspace / "data" / "models"
    override = tmp_path / "mine"
    monkeypatch.setenv("KIWI_MODELS", str(override))
    assert resolve_model("act") == in_workspace  # not in $KIWI_MODELS: the workspace's
    first = make_checkpoint(override / "act" / "pretrained_model")
    assert resolve_model("act") == first and checkpoint.models_root() == override
    with pytest.raises(CheckpointError) as missing:
        resolve_model("diffusion")
    assert str(override / "diffusion") in str(missing.value)
    assert str(workspace / "data" / "models" / "diffusion") in str(missing.value)


def test_this_checkout_is_the_workspace():
    assert checkpoint.workspace_root() == Path(__file__).resolve().parents[3]


def test_mapping_comes_with_the_checkpoint_or_its_dataset(tmp_path):
    pretrained = make_checkpoint(tmp_path / "pretrained_model")
    with pytest.raises(CheckpointError, match="no kiwi_mapping.json"):
        find_mapping(pretrained)
    dataset = tmp_path / "ds"
    (dataset / "meta").mkdir(parents=True)
    (dataset / "meta" / "kiwi_mapping.json").write_text(Mapping(fps=15).to_json())
    (pretrained / "train_config.json").write_text(f'{{"dataset": {{"root": "{dataset}"}}}}')
    assert find_mapping(pretrained).fps == 15
    (pretrained / "kiwi_mapping.json").write_text(Mapping(fps=10).to_json())
    assert find_mapping(pretrained).fps == 10, "the copy beside the weights wins"


def test_chunk_trajectory_integrates_the_base_and_keeps_the_arm():
    from kiwi_common.features import action_vector
    from kiwi_description import constants as c

    arm = {j: 0.1 for j in c.ARM_JOINTS}
    actions = np.stack([action_vector(arm, (0.2, 0.0, math.radians(90))) for _ in range(11)])
    positions, velocities = chunk_trajectory(actions, 0.1)
    assert positions.shape == (11, len(CHUNK_JOINTS))
    assert positions[:, 0] == pytest.approx(0.1) and velocities[1:, 0] == pytest.approx(0.0)
    assert positions[-1, -1] == pytest.approx(math.radians(90)), "1 s at 90 deg/s"
    # A quarter circle of radius v/w: ends at (r, r).
    r = 0.2 / math.radians(90)
    assert positions[-1, -3] == pytest.approx(r, rel=0.1) and positions[-1, -2] == pytest.approx(r, rel=0.1)


def test_train_command_is_offline_cpu_sized_and_overridable(tmp_path):
    cmd = train_command(tmp_path / "ds", "act", tmp_path / "out", 100, 4, 7, ["--policy.chunk_size=50"])
    assert "--policy.pretrained_backbone_weights=null" in cmd and "--policy.device=cpu" in cmd
    assert "--policy.push_to_hub=false" in cmd and "--wandb.enable=false" in cmd
    assert "--policy.chunk_size=50" in cmd and "--policy.chunk_size=30" not in cmd
    assert f"--dataset.root={tmp_path / 'ds'}" in cmd and "--steps=100" in cmd
    with pytest.raises(TrainError, match="act, diffusion"):
        train_command(tmp_path, "smolvla", tmp_path, 1, 1, 1)
    assert "--num_workers=2" in cmd, "the loader in processes of its own, beside the update"
    mlp = train_command(tmp_path, "kiwi_mlp", tmp_path, 1, 1, 1)
    assert "--num_workers=2" in mlp and "--policy.loss=l1" in mlp, "the median: a held cube stays shut"
    textbook = train_command(tmp_path, "kiwi_mlp", tmp_path, 1, 1, 1, extra=["--policy.loss=mse"])
    assert "--policy.loss=mse" in textbook and "--policy.loss=l1" not in textbook


def test_each_policy_trains_to_its_own_plateau_unless_told(tmp_path):
    def steps(policy, given=None):
        (option,) = [
            a for a in train_command(tmp_path, policy, tmp_path, given, 1, 1) if a.startswith("--steps=")
        ]
        return int(option.split("=")[1])

    assert steps("act") == TRAINING_STEPS["act"] > steps("kiwi_mlp") == TRAINING_STEPS["kiwi_mlp"]
    assert steps("diffusion") == TRAINING_STEPS["diffusion"] and steps("act", 500) == 500
    assert set(TRAINING_STEPS) == set(CPU_DEFAULTS), "every policy with a preset has its steps"


def test_the_lerobot_preset_keeps_lerobots_sizes_device_and_loader(tmp_path):
    cmd = train_command(tmp_path / "ds", "act", tmp_path / "out", 100, 4, 7, preset="lerobot")
    assert "--policy.type=act" in cmd and "--policy.push_to_hub=false" in cmd
    for kiwi_setting in ("--policy.device", "--policy.dim_model", "--policy.pretrained_backbone_weights"):
        assert not any(a.startswith(kiwi_setting) for a in cmd), kiwi_setting
    assert not any(a.startswith("--num_workers") for a in cmd), "LeRobot's loader processes"
    scaling = [a for a in cmd if a.startswith("--policy.normalization_mapping=")]
    assert len(scaling) == 1 and json.loads(scaling[0].split("=", 1)[1])["ENV"] == "MEAN_STD", (
        "the cube's position scaled on any hardware, not passed in metres"
    )
    on_gpu = train_command(
        tmp_path, "diffusion", tmp_path, 1, 1, 1, ["--policy.device=cuda"], preset="lerobot"
    )
    assert "--policy.device=cuda" in on_gpu and not any(a.startswith("--policy.down_dims") for a in on_gpu)
    mlp = train_command(tmp_path, "kiwi_mlp", tmp_path, 1, 1, 1, preset="lerobot")
    assert "--policy.loss=l1" in mlp, "what the MLP learns is no CPU size: a held cube stays shut"
    with pytest.raises(TrainError, match="cpu, lerobot"):
        train_command(tmp_path, "act", tmp_path, 1, 1, 1, preset="gpu")


def test_training_runs_on_one_thread_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_settings() == {"OMP_NUM_THREADS": "1"}
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert thread_settings() == {}, "the user's own setting wins"


def test_continued_training_takes_the_checkpoints_config_not_the_defaults(tmp_path):
    start = tmp_path / "r0" / "pretrained_model"
    cmd = train_command(tmp_path / "ds", "act", tmp_path / "out", 100, 4, 7, start=start)
    assert f"--policy.path={start}" in cmd and not any(a.startswith("--policy.type") for a in cmd)
    assert "--policy.device=cpu" in cmd and not any(a.startswith("--policy.chunk_size") for a in cmd)
    (tmp_path / "ds" / "meta").mkdir(parents=True)
    (tmp_path / "ds" / "meta" / "info.json").write_text("{}")
    (tmp_path / "ds" / "meta" / "kiwi_mapping.json").write_text("{}")
    with pytest.raises(TrainError, match="no checkpoint to continue"):
        train(tmp_path / "ds", "act", tmp_path / "out", start=start)


def test_training_progress_is_read_from_lerobot_trains_output():
    from kiwi_policy.train import logged_step

    assert logged_step("Training:  13%|█▎        | 380/3000 [00:47<05:22,  8.12step/s]") == 380
    assert logged_step("INFO 2026-11-21 ot_train.py:641 step:2K smpl:64K ep:3 loss:0.3") == 2000
    assert logged_step("INFO ot_train.py:641 step:20 smpl:160") == 20
    assert logged_step("Creating dataset 3/4") is None


def test_losses_are_read_by_step_from_lerobot_trains_output():
    from kiwi_policy.train import loss_curve

    lines = [  # as lerobot-train 0.6.1 writes them: a progress bar, then the log line
        "Training:   3%|▎  | 100/3000 [00:07<01:25, 34.00step/s]INFO 2026-12-05 23:15:02 ot_train.py:641 "
        "step:100 smpl:3K ep:13 epch:0.63 loss:0.447 grdn:0.231 lr:5.1e-04 updt_s:0.005 data_s:0.071 "
        "smp/s:420 l1:0.447",
        "INFO 2026-12-05 23:16:00 ot_train.py:673 step 100: eval_loss=0.5012",
        "INFO 2026-12-05 23:17:00 ot_train.py:641 step:200 smpl:6K ep:25 epch:1.26 loss:12.5 "
        "grdn:3.1 lr:1.0e-04 updt_s:0.1 data_s:0.0 smp/s:300 mem_gb:1.2 l1_loss:0.310 kld_loss:0.001",
        "Creating dataset 3/4",
    ]
    assert loss_curve(lines, log_freq=100) == {
        100: {"loss": 0.447, "l1": 0.447, "eval_loss": 0.5012},
        200: {"loss": 12.5, "l1_loss": 0.31, "kld_loss": 0.001},
    }
    rounded = "INFO ot_train.py:641 step:2K smpl:64K ep:3 epch:1.0 loss:0.3"
    assert list(loss_curve([rounded] * 3, log_freq=500)) == [500, 1000, 1500]  # not the rounded 2K


def test_kiwis_scaling_is_lerobots_own_plus_the_cube_position():
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig

    from kiwi_policy.train import CPU_DEFAULTS, LEROBOT_NORMALIZATION

    for policy, config in (("act", ACTConfig()), ("diffusion", DiffusionConfig())):
        lerobots = {kind: mode.value for kind, mode in config.normalization_mapping.items()}
        assert LEROBOT_NORMALIZATION[policy] == lerobots, f"{policy}: LeRobot changed its defaults"
        kiwis = json.loads(CPU_DEFAULTS[policy]["normalization_mapping"])
        assert kiwis == {**lerobots, "ENV": lerobots["STATE"]}, f"{policy}: the cube scaled as the state"
