"""What a `kiwi demo` run is: its settings, stages and model names, the code that made it, and what
its episodes come from (an `EpisodeSource`: the ROS graphs, `ros_episodes.py`, or the gymnasium env,
`env_episodes.py`). Everything here is shared by the runner (`demo.py`), the sources and the report,
and imports none of them."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Protocol

from kiwi_common.features import Mapping
from kiwi_policy.sampler_noise import SamplerError, sampler_noise
from kiwi_policy.train import BATCH_SIZE, CPU_DEFAULTS, TRAINING_STEPS, option_values
from kiwi_teleop.gating import GateRule

from .episodes import EpisodePlan
from .evaluation import summary_problem


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoConfig:
    policy: str = "kiwi_mlp"  # the chunked policy: kiwi_mlp (10-action chunks), act or diffusion
    # What the policy sees: "state" (joints, wheels and the cube and obstacle from the sim's
    # ground truth) or "images" (joints, wheels and the two cameras at IMAGE_SIZE: what a real
    # LeKiwi has). The expert and the gate read the ground truth either way.
    observation: str = "state"
    demos: int = 20
    detour: str = "left"  # the expert's side in the demonstrations: left, right or random (per episode)
    eval_episodes: int = 100  # held-out layouts: every reported figure comes from these
    dev_episodes: int = 20  # development layouts: traces and videos for diagnosis, never reported
    wide_episodes: int = 100  # layouts of the wider task (kiwi_common.task.sample_wide_layout)
    rounds: int = 3  # HG-DAgger rounds after the first training
    dagger_episodes: int = 40  # rollouts per round
    steps: int = TRAINING_STEPS["kiwi_mlp"]  # round 0's training; the CLI gives each policy its own
    round_steps: int = 1500  # each later round continues the last model this far
    batch_size: int = BATCH_SIZE
    # Each correction segment this many times in the dataset: 2, a correction frame weighs two
    # demonstration frames (they are few, and they are where the policy fails).
    correction_weight: int = 2
    sim_speed: float = 1.0  # faster, the graph's processes fall 1-2 ticks behind on 2 cores
    # ros: demonstrations and rollouts through the ROS graphs (the product); env: the same expert,
    # gate and policy loader in the gymnasium env, in one process (no DDS, no process timing).
    backend: str = "ros"
    timeout_s: float = 20.0  # sim seconds a rollout may take
    seed: int = 0
    # The gate's `lift_stalled` rule (kiwi_teleop.gating): seconds a cube off the floor, below the
    # hold height, may go without rising before the expert takes over; 0: off.
    gate_lift_stall_s: float = GateRule.lift_stall_s
    # Its patience with the jaws shut on nothing or the base past the grasp stand (s).
    gate_patience_s: float = GateRule.patience_s
    # Diffusion's sampler noise in every rollout and evaluation (the policy node's `diffusion_noise`):
    # 1, LeRobot's draw at every chunk; 0, zeros; None, the policy's default (0.5 for a DDIM Diffusion).
    diffusion_noise: float | None = None
    # lerobot-train options for every model of the run, shell-quoted (`kiwi demo ... -- OPTIONS`):
    # they win over the CPU defaults, as after `kiwi train ... --`.
    train_args: str = ""

    def gate_rule(self) -> GateRule:
        """The gate this run's rollouts are taken over by."""
        return GateRule(lift_stall_s=self.gate_lift_stall_s, patience_s=self.gate_patience_s)

    def plans(self, kind: str, count: int, round_: int = 0) -> list[EpisodePlan]:
        """Scene seeds, the obstacle on every one (the task taught and evaluated); every kind and
        round its own seeds, each run (`seed`) its own; the development layouts the same for every
        model of a run, the held-out ones the same for every model of every run (no run trains
        on them: its own seeds are `seed` * 100000 + 1000 and up)."""
        if kind in FIXED_SEEDS:
            return [EpisodePlan(FIXED_SEEDS[kind] + k, True) for k in range(count)]
        first = self.seed * 100_000 + RUN_SEEDS[kind][0] + (100 * round_ if kind == "rollouts" else 0)
        if count > RUN_SEEDS[kind][1]:
            raise DemoError(f"{count} {kind} layouts asked; a run has {RUN_SEEDS[kind][1]} of its own")
        return [EpisodePlan(first + k, True) for k in range(count)]


# The first seeds of the layout sets every run shares (up to MAX_HELD_OUT each; a run's own seeds
# are `seed` * 100000 + 1000 and up, never these): the held-out layouts, and the wider task's
# (drawn from its own distribution: the obstacle on half of them).
FIXED_SEEDS = {"heldout": 900_000, "wide": 910_000}
MAX_HELD_OUT = 1000
# A run's own layout seeds, after `seed` * 100000: (first, how many) of each kind; the rollouts'
# are 100 per round.
RUN_SEEDS = {
    "demos": (1000, 1000),
    "rollouts": (2000, 100),
    "extra_demos": (4000, 1000),
    "dev": (5000, MAX_HELD_OUT),
}


# The report's videos: each model's first evaluation layouts, top-down, a frame every 3 ticks (10 fps).
VIDEO_EPISODES = 3
VIDEO_EVERY = 3


# lerobot-train options a run sets for each model itself (its own flags say them): given after
# `--` they would make other models than its settings and report say.
MANAGED_TRAIN_OPTIONS = (
    "--steps",
    "--batch_size",
    "--seed",
    "--output_dir",
    "--job_name",
    "--save_freq",
    "--resume",
    "--policy.type",
    "--policy.path",
    "--dataset.",
)


def train_options(config: DemoConfig) -> list[str]:
    """The run's lerobot-train options (`kiwi demo ... -- OPTIONS`); DemoError on one it manages."""
    options = shlex.split(config.train_args)
    managed = [o for o in options if o.split("=", 1)[0].startswith(MANAGED_TRAIN_OPTIONS)]
    if managed:
        raise DemoError(
            f"kiwi demo sets {', '.join(o.split('=', 1)[0] for o in managed)} for each model itself: "
            f"use its own options (--steps, --round-steps, --batch-size, --seed), not lerobot-train's"
        )
    return options


def policy_settings(config: DemoConfig) -> dict:
    """The run's policy settings: the CPU defaults, and the options after `--` over them."""
    given = {k.removeprefix("--policy."): v for k, v in option_values(train_options(config)).items()}
    return {**CPU_DEFAULTS[config.policy], **given}


def chunk_frames(config: DemoConfig) -> int:
    """The policy's chunk: HG-DAgger's corrections shorter than this are dropped (they teach no
    whole chunk)."""
    settings = policy_settings(config)
    return int(settings.get("chunk_size", settings.get("horizon", 1)))


# What the code before a setting existed did, for run records that lack it (not today's default).
_BEFORE_SETTINGS = {"diffusion_noise": 1.0}


def compared_settings(settings: dict) -> dict:
    """A run's settings (`asdict` of a DemoConfig) as runs are compared: Diffusion's sampler
    noise as the scale it resolves to (unset and 1 are the same for ACT)."""
    known = {f.name for f in fields(DemoConfig)}
    config = replace(DemoConfig(), **{k: v for k, v in settings.items() if k in known})
    return settings | {"diffusion_noise": sampler_scale(config)}


def recorded_settings(record: dict) -> dict:
    """A run's recorded settings as runs are compared; a setting its code did not have yet counts
    as what that code did (one it had and today's code no longer has stays, uncompared)."""
    return compared_settings(asdict(DemoConfig()) | _BEFORE_SETTINGS | record)


def sampler_scale(config: DemoConfig) -> float:
    """The noise scale the run's policy samples at, as the policy node resolves it for the run's
    checkpoints; DemoError where the node would refuse `diffusion_noise`."""
    scheduler = policy_settings(config).get("noise_scheduler_type")
    try:
        return sampler_noise(config.policy, scheduler, config.diffusion_noise)
    except SamplerError as e:
        raise DemoError(f"--diffusion-noise: {e}") from None


EXPERT_TIMEOUT_S = 15.0  # the expert lifts within 3-7 s of sim time (README); more means it is stuck
QUICK = DemoConfig(
    demos=2,
    eval_episodes=2,
    dev_episodes=1,
    wide_episodes=1,
    rounds=1,
    dagger_episodes=2,
    steps=10,
    round_steps=10,
    batch_size=8,
    timeout_s=5.0,
)
PRETRAINED = Path("checkpoints") / "last" / "pretrained_model"  # a training run's last weights
POLICY_NAMES = {"act": "ACT", "diffusion": "Diffusion", "kiwi_mlp": "kiwi_mlp"}


@dataclass(frozen=True)
class Training:
    """One model of the run: trained on `dataset`, from scratch or continuing `start`'s weights."""

    name: str
    dataset: str
    start: str | None
    steps: int
    seed: int = 1000  # training seed, added to the run's


ARMS = ("control", "bc")  # the baselines trained on the rounds' schedule


def arm_model(arm: str, round_: int, rounds: int) -> str:
    """A baseline's model after `round_` of its rounds: `arm` itself after the last."""
    return "r0" if round_ == 0 else arm if round_ == rounds else f"{arm}_r{round_}"


def trainings(config: DemoConfig) -> list[Training]:
    """Round 0 on the demonstrations; HG-DAgger round r continues round r-1 for `round_steps` on
    the demonstrations plus every earlier round's corrections. Two baselines follow the same
    schedule (continuing round 0 once per round, each time with a new optimizer and learning-rate
    schedule, as the rounds do): the control on the demonstrations alone (what more training does
    without corrections) and the effort-matched BC arm on the demonstrations plus extra expert
    demonstrations with as many frames as the corrections (what as much expert data does). Round 0
    is trained twice (the noise floor)."""
    plan = [Training("r0", "r0", None, config.steps)]
    for r in range(1, config.rounds + 1):
        plan.append(Training(f"hg_r{r}", f"hg_r{r}", plan[-1].name, config.round_steps))
    for arm, dataset in zip(ARMS, ("r0", "bc")):
        for r in range(1, config.rounds + 1):
            name, start = arm_model(arm, r, config.rounds), arm_model(arm, r - 1, config.rounds)
            plan.append(Training(name, dataset, start, config.round_steps))
    return plan + [Training("r0_seed2", "r0", None, config.steps, seed=1001)]


def round_model(round_: int) -> str:
    return "r0" if round_ == 0 else f"hg_r{round_}"


def evaluations(config: DemoConfig) -> list[tuple[str, str]]:
    """(evaluation, model) on the held-out layouts: every round, the baselines, and round 0
    trained with another seed (the noise floor: what chance alone changes between two equally made
    models; the evaluation itself is deterministic)."""
    names = [(f"eval_{round_model(r)}", round_model(r)) for r in range(config.rounds + 1)]
    if config.rounds:
        names += [(f"eval_{arm}", arm) for arm in ARMS]
    return names + [("eval_r0_seed2", "r0_seed2")]


def wide_evaluations(config: DemoConfig) -> list[tuple[str, str]]:
    """(evaluation, model) on the wider task's layouts: round 0, the last round and the baselines
    (no target: the next step's baseline)."""
    return [(f"wide_{model}", model) for _, model in diagnoses(config)]


def diagnoses(config: DemoConfig) -> list[tuple[str, str]]:
    """(evaluation, model) on the development layouts: round 0, the last round and the baselines
    (their paths and videos are what diagnosis looks at)."""
    models = dict.fromkeys(["r0", round_model(config.rounds), *(ARMS if config.rounds else ())])
    return [(f"dev_{model}", model) for model in models]


OBSERVATIONS = ("state", "images")
IMAGE_SIZE = (96, 128)  # (H, W) both cameras are rendered for and stored at with images


def demo_mapping(observation: str = "state") -> Mapping:
    """The run's observation (`DemoConfig.observation`), and the action is the expert's command
    (/teleop/...): in demonstrations and interventions that is what the mux sent. Images come raw
    (no JPEG): the driver renders them small, and the env's pixels are then exactly the graph's."""
    if observation not in OBSERVATIONS:
        raise DemoError(f"observation must be one of {', '.join(OBSERVATIONS)}, got {observation!r}")
    if observation == "state":
        observed = Mapping().state_only()
    else:
        raw = {cam: f"/camera/{cam}/image_raw" for cam in Mapping().cameras}
        observed = replace(Mapping(), cameras=raw).with_image_size(*IMAGE_SIZE)
    return replace(observed, arm_command_topic="teleop/arm/command", cmd_vel_topic="teleop/cmd_vel")


KIWI_PACKAGES = (
    "kiwi_description",
    "kiwi_common",
    "kiwi_driver",
    "kiwi_teleop",
    "kiwi_recorder",
    "kiwi_policy",
    "kiwi_bringup",
    "kiwi_experiments",
    "lerobot_env_kiwi",
    "lerobot_policy_kiwi",
)


def code_version() -> dict:
    """The code that makes a run: a fingerprint of every source file of the Kiwi packages (what a
    resumed run must match), and the git commit with whether the tree differs from it, where the
    packages sit in a git checkout."""
    import hashlib
    import importlib.util
    import subprocess

    digest, folders = hashlib.sha256(), []
    for name in KIWI_PACKAGES:
        spec = importlib.util.find_spec(name)
        folder = Path(next(iter(spec.submodule_search_locations)))
        folders.append(folder)
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(folder)}\n".encode() + path.read_bytes())
    git = ["git", "-C", str(folders[0])]
    try:
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
        commit, dirty = commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"fingerprint": digest.hexdigest()[:16], "commit": commit, "dirty": dirty}


def write_atomically(path: Path, text: str) -> None:
    """`text` as the file `path`, whole or not at all (a kill mid-write leaves the old one)."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text)
        os.replace(partial, path)
    except OSError as exc:
        raise DemoError(f"cannot write {path}: {exc.strerror or exc}; give a new --out, or --fresh") from None


def read_summaries(path: Path) -> list[dict]:
    """The finished episodes' summaries. A last line cut off by a kill is dropped (and rewritten
    away), with a warning; a damaged line before the last is an error (the run's record is broken)."""
    if not path.exists():
        return []
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DemoError(f"{path} is damaged ({exc}); give a new --out, or --fresh to start over") from None
    summaries = []
    for number, line in enumerate(lines, 1):
        try:
            summary = json.loads(line)
            problem = summary_problem(summary)
            if problem:
                raise ValueError(problem)
        except ValueError as exc:
            if number < len(lines):
                raise DemoError(
                    f"{path}: line {number} is damaged ({exc}); give a new --out, or --fresh to start over"
                ) from None
            print(f"warning: {path}: its last line was cut off; that episode runs again", file=sys.stderr)
            break
        summaries.append(summary)
    write_atomically(path, "".join(json.dumps(s) + "\n" for s in summaries))
    return summaries


@dataclass(frozen=True)
class Batch:
    """Episodes still to run in one batch: `plans` are the ones not yet done, the first of them the
    batch's episode number `first`."""

    name: str
    graph: str  # record (the expert demonstrates) or dagger (the policy under the gate)
    args: dict[str, str]  # the graph's arguments (the model for dagger)
    plans: list[EpisodePlan]
    first: int
    policy: bool
    timeout_s: float


class EpisodeSource(Protocol):
    """Where a run's episodes happen and how their recordings become datasets."""

    def run(self, batch: Batch, keep: Callable[[dict], None]) -> None:
        """Run the batch's episodes in order, handing each one's summary to `keep` as it ends."""

    def write_dataset(self, out: Path, demos: list[str], rollouts: list[str]) -> dict:
        """The episodes of the `demos` batches whole and the corrections of the `rollouts` batches
        as a dataset at `out`; a summary (demonstrations, rollouts, episodes, frames, and
        correction_frames: the corrections' frames counted once)."""
