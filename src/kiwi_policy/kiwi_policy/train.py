"""`kiwi train DATASET --policy act|diffusion|kiwi_mlp --out DIR`: LeRobot's `lerobot-train`,
offline and CPU-sized.

The defaults make a model a 2-core CPU can train and run (small transformer or U-Net, ResNet18
without downloaded weights, a few thousand steps); `--preset lerobot` keeps LeRobot's own (for a
GPU), and every LeRobot option can still be given after `--`. The dataset's `kiwi_mapping.json`
is copied next to each checkpoint's weights, so the policy node deploys the policy with the
mapping it was trained on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kiwi_common.features import MAPPING_FILE
from kiwi_common.processes import interrupt, start_child

# LeRobot's own normalization of ACT's and Diffusion's inputs and actions by feature type. It names no
# ENV: the cube's and obstacle's positions (`observation.environment_state`) would reach the network
# unscaled, in metres, where a grasp turns on centimetres. Kiwi scales them as the state.
LEROBOT_NORMALIZATION = {
    "act": {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"},
    "diffusion": {"VISUAL": "MEAN_STD", "STATE": "MIN_MAX", "ACTION": "MIN_MAX"},
}


def scaled_as_state(policy: str) -> str:
    """LeRobot's normalization of `policy` with the ENV features scaled as its state, as an option value."""
    own = LEROBOT_NORMALIZATION[policy]
    return json.dumps({**own, "ENV": own["STATE"]})


# CPU-sized settings per policy type (LeRobot's defaults are GPU-sized: ACT 52 M parameters,
# Diffusion a 256 M U-Net at 100 denoising steps).
CPU_DEFAULTS = {
    "act": {
        "dim_model": 64,
        "n_heads": 4,
        "dim_feedforward": 256,
        "n_encoder_layers": 2,
        "n_decoder_layers": 1,
        "latent_dim": 16,
        "chunk_size": 30,
        "n_action_steps": 30,
        "optimizer_lr": 1e-4,
        "optimizer_lr_backbone": 1e-4,
        "pretrained_backbone_weights": "null",
        "normalization_mapping": scaled_as_state("act"),
    },
    "diffusion": {
        "down_dims": "[64,128,256]",
        "diffusion_step_embed_dim": 64,
        "n_obs_steps": 2,
        "horizon": 16,
        "n_action_steps": 8,
        "noise_scheduler_type": "DDIM",
        "num_inference_steps": 10,
        "use_group_norm": "true",
        "spatial_softmax_num_keypoints": 16,
        "pretrained_backbone_weights": "null",
        "normalization_mapping": scaled_as_state("diffusion"),
    },
    # lerobot_policy_kiwi's MLP over the state features (and camera keypoints): one chunk a state
    # by default, `-- --policy.head=mixture` for the K-mode mixture. Trained on the absolute error:
    # the squared error's mean of "shut" and "opening" left the jaws a few degrees loose on a held
    # cube, and it slipped out (docs/results/hg-dagger-study.md).
    "kiwi_mlp": {"chunk_size": 10, "n_action_steps": 10, "loss": "l1"},
}
# Of those, the ones that are a choice of what is learnt, not of size: every preset keeps them.
KIWI_CHOICES = {
    "kiwi_mlp": ("loss",),
    "act": ("normalization_mapping",),
    "diffusion": ("normalization_mapping",),
}
# Training steps by policy, at BATCH_SIZE, on a demo's state-only round-0 data (20 demonstrations;
# benchmarks/training_curve.py, docs/results/act-and-diffusion.md). kiwi_mlp's is the loop's budget
# (strict success on 50 development layouts 68, 64, 76 % at 3000, 6000, 9000 steps, one seed:
# docs/results/hg-dagger-study.md); ACT's and Diffusion's are where their loss on 4 held-out
# demonstrations levels off. ACT's fell until 7500-9000 steps, and its success on development
# layouts rose with it: 23 % at 3000, 40 % at 6000, 73 % at 9000. Diffusion's fell
# until about 10000 and stayed level to 15000, where its success was highest (33 %, against 17 %
# at 9000 and 12000; its learning rate anneals to zero at the last step).
TRAINING_STEPS = {"kiwi_mlp": 3000, "act": 9000, "diffusion": 15000}
BATCH_SIZE = 32


def training_steps_text() -> str:
    """TRAINING_STEPS for a command's help: '3000 for kiwi_mlp, 9000 for act, ...'."""
    return ", ".join(f"{steps} for {policy}" for policy, steps in TRAINING_STEPS.items())


# Every policy trains on the CPU with two data-loader processes and its update on one thread.
# LeRobot's loader (about 2.5 ms a sample for a 10-action chunk) otherwise holds the main process
# through much of each step, and with two threads the update spins against the loader processes.
# Steps/s at batch 32 on a demo's round-0 data, no loader processes and torch's two threads against
# two processes and one thread: ACT 8.1 -> 12.8, Diffusion 5.3 -> 8.1 (one process: 13.5, 7.8);
# kiwi_mlp 1000 steps 79 s -> 71 s.
LOADER_WORKERS = 2


def thread_settings() -> dict[str, str]:
    """What lerobot-train's environment gets on the CPU beyond the caller's own (whose
    OMP_NUM_THREADS, if set, wins)."""
    return {} if "OMP_NUM_THREADS" in os.environ else {"OMP_NUM_THREADS": "1"}


PROGRESS_BAR = re.compile(r"\|\s*(\d+)/\d+ \[")
STEP_LOG = re.compile(r"\bstep:(\d+(?:\.\d+)?)([KMBT]?)\b")
BIG_NUMBER_SUFFIX = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}  # LeRobot's format_big_number
COMMON = {"push_to_hub": "false"}
# cpu: Kiwi's CPU-sized settings on the CPU; lerobot: LeRobot's own sizes, device (a GPU when
# there is one), loader processes and pretrained backbone (torchvision's ImageNet weights).
PRESETS = ("cpu", "lerobot")


class TrainError(RuntimeError):
    pass


def train_command(
    dataset: Path,
    policy: str,
    out: Path,
    steps: int | None,
    batch_size: int,
    seed: int,
    extra: list[str] = (),
    start: Path | None = None,
    preset: str = "cpu",
) -> list[str]:
    """lerobot-train's command line; with `start` (a pretrained_model folder) the policy continues
    from those weights and their configuration (LeRobot's fine-tuning: a fresh optimizer). `steps`:
    the policy's TRAINING_STEPS if None. `preset`: one of PRESETS."""
    if policy not in CPU_DEFAULTS:
        raise TrainError(
            f"no CPU defaults for policy type {policy!r}; types: {', '.join(CPU_DEFAULTS)} "
            f"(others: call lerobot-train yourself)"
        )
    if preset not in PRESETS:
        raise TrainError(f"preset {preset!r}: one of {', '.join(PRESETS)}")
    steps = TRAINING_STEPS[policy] if steps is None else steps
    on_cpu = preset == "cpu"
    common = {**COMMON, "device": "cpu"} if on_cpu else COMMON
    if start is None:
        chosen = {
            k: v for k, v in CPU_DEFAULTS[policy].items() if on_cpu or k in KIWI_CHOICES.get(policy, ())
        }
        settings = {**common, **chosen}
        args = [f"--policy.type={policy}", *(f"--policy.{k}={v}" for k, v in settings.items())]
    else:
        args = [f"--policy.path={start}", *(f"--policy.{k}={v}" for k, v in common.items())]
    if on_cpu:
        args.append(f"--num_workers={LOADER_WORKERS}")
    args += [
        f"--dataset.repo_id=local/{dataset.name}",
        f"--dataset.root={dataset}",
        f"--output_dir={out}",
        f"--job_name={out.name}",
        f"--steps={steps}",
        f"--batch_size={batch_size}",
        f"--seed={seed}",
        f"--save_freq={steps}",
        f"--log_freq={max(1, min(100, steps // 10))}",
        "--wandb.enable=false",
    ]
    overridden = {arg.split("=", 1)[0] for arg in extra}  # what the user gives after -- wins
    args = [a for a in args if a.split("=", 1)[0] not in overridden] + list(extra)
    return [sys.executable, "-m", "lerobot.scripts.lerobot_train", *args]


def option_values(options) -> dict[str, str]:
    """`--name=value` command-line options as {"--name": "value"} (those without a value left out)."""
    return dict(option.split("=", 1) for option in options if "=" in option)


def copy_mapping(dataset: Path, out: Path) -> int:
    """Put the dataset's mapping beside every checkpoint's weights; returns how many."""
    mapping = dataset / "meta" / MAPPING_FILE
    targets = sorted(out.glob("checkpoints/*/pretrained_model"))
    for target in targets:
        shutil.copyfile(mapping, target / MAPPING_FILE)
    return len(targets)


def logged_step(line: str) -> int | None:
    """The step a line of lerobot-train's output reports, if it reports one: its progress bar
    ('Training: 13%|...| 400/3000 [...') to the step, else its log line's rounded 'step:1K'."""
    match = PROGRESS_BAR.search(line)
    if match:
        return int(match.group(1))
    match = STEP_LOG.search(line)
    if not match:
        return None
    number, suffix = match.groups()
    return int(float(number) * BIG_NUMBER_SUFFIX.get(suffix, 1))


TRACKER_METRIC = re.compile(r"(?<!\S)([a-z][a-z0-9_]*):(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\dKMBTQ])")
EVAL_LOSS = re.compile(r"\bstep (\d+): eval_loss=(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")
PLAIN_LOSSES = {"loss", "l1", "mse", "ce"}  # LeRobot's total and kiwi_mlp's own terms


def is_loss(name: str) -> bool:
    return name in PLAIN_LOSSES or name.endswith("_loss")


def loss_curve(lines, log_freq: int) -> dict[int, dict[str, float]]:
    """lerobot-train's losses by step, from its output: each metrics line's losses (`loss` and the
    policy's own, ACT's `kld_loss` among them), averaged over the `log_freq` steps it ends (its
    printed step is rounded to thousands, so the k-th such line is taken to end step k * log_freq),
    and each held-out evaluation's `eval_loss` (`--dataset.eval_split`, `--eval_steps`)."""
    curve: dict[int, dict[str, float]] = {}
    logged = 0
    for line in lines:
        match = EVAL_LOSS.search(line)
        if match:
            curve.setdefault(int(match.group(1)), {})["eval_loss"] = float(match.group(2))
        elif STEP_LOG.search(line) and " smpl:" in line:
            logged += 1
            metrics = {k: float(v) for k, v in TRACKER_METRIC.findall(line) if is_loss(k)}
            curve.setdefault(logged * log_freq, {}).update(metrics)
    return dict(sorted(curve.items()))


def read_loss_curve(log: Path, log_freq: int) -> dict[int, dict[str, float]]:
    """`loss_curve` of a lerobot-train log file (`train(log=...)`; progress bars end in carriage returns)."""
    return loss_curve(Path(log).read_text().replace("\r", "\n").splitlines(), log_freq)


def check_dataset(dataset: Path) -> None:
    """Read everything training will read, before lerobot-train starts (its errors are tracebacks)."""
    from kiwi_common.dataset_check import DatasetError, check_for_training

    try:
        check_for_training(dataset)
    except DatasetError as exc:
        raise TrainError(str(exc)) from None


def _remove_if_no_checkpoint(out: Path) -> None:
    """A run stopped before its first checkpoint leaves no folder behind (a new run needs a new one);
    saved checkpoints are kept (LeRobot's --resume continues them)."""
    if not any(out.glob("checkpoints/*/pretrained_model")):
        shutil.rmtree(out, ignore_errors=True)


def _run_lerobot_train(command: list[str], env: dict, log: Path | None, on_step) -> int:
    """lerobot-train's exit status; its output to the terminal, or to `log` with `on_step(step)`
    for each step it reports. Interrupted, it is stopped (and killed after a grace) before we go."""
    if log is None:
        print("running:", " ".join(command[2:]), flush=True)
    with (
        open(os.devnull if log is None else log, "w") as sink,
        start_child(
            command,
            env=env,
            stdout=None if log is None else subprocess.PIPE,
            stderr=None if log is None else subprocess.STDOUT,
            text=True,
        ) as proc,
    ):
        try:
            if log is not None:
                sink.write("running: " + " ".join(command[2:]) + "\n")
                for line in proc.stdout:
                    sink.write(line)
                    step = logged_step(line)
                    if step is not None and on_step is not None:
                        on_step(step)
            proc.wait()
        except BaseException:
            interrupt(proc)
            raise
    return proc.returncode


def train(
    dataset: Path,
    policy: str,
    out: Path,
    steps: int | None = None,
    batch_size: int = BATCH_SIZE,
    seed: int = 1000,
    extra: list[str] = (),
    log: Path | None = None,
    on_step=None,
    start: Path | None = None,
    preset: str = "cpu",
) -> Path:
    """Train; returns the last checkpoint's pretrained_model folder. With `log`, lerobot-train's
    output goes to that file and `on_step(step)` hears of each logged step (progress bars). With
    `start`, continue that checkpoint's weights. `steps`: the policy's TRAINING_STEPS if None."""
    dataset, out = Path(dataset), Path(out)
    if out.exists():
        raise TrainError(f"{out} exists; give a new --out (LeRobot does not overwrite a training run)")
    if start is not None and not (Path(start) / "config.json").is_file():
        raise TrainError(f"{start} is no checkpoint to continue (no config.json)")
    check_dataset(dataset)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainError(f"cannot create {out}: {exc.strerror or exc}") from None
    command = train_command(dataset, policy, out, steps, batch_size, seed, extra, start, preset)
    threads = thread_settings() if preset == "cpu" else {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", **threads}
    try:
        returncode = _run_lerobot_train(command, env, log, on_step)
    except BaseException:
        _remove_if_no_checkpoint(out)
        raise
    if returncode != 0:
        _remove_if_no_checkpoint(out)
        where = "above" if log is None else f"in {log}"
        raise TrainError(f"lerobot-train failed (exit {returncode}); its output is {where}")
    copy_mapping(dataset, out)
    return out / "checkpoints" / "last" / "pretrained_model"
