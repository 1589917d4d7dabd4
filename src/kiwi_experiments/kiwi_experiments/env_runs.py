"""Demonstrations and evaluations in the gymnasium env (lerobot_env_kiwi), in one process: the same
task, layouts and expert as the ROS sim graph, as fast as the CPU goes (the env observes what the
policy's mapping records: the ground truth of cube and obstacle, or the cameras at its image size).

- `record_env_demos`: the expert's episodes written as a Kiwi state-only dataset through LeRobot's
  dataset writer (the features of `kiwi convert --state-only`, with its mapping file, so
  `kiwi train` takes it). `sides` records each start state once per detour side asked: (1, -1)
  gives demonstrations that are bimodal at exactly the same observations.
- `policy_runs` / `evaluate_in_env`: a checkpoint drives the env through Kiwi's own loader
  (`load_policy`, the policy node's feature check and processors) a chunk at a time; per episode
  it records success, collisions, closest approach, the side it passed the obstacle on, the error
  of its actions against the expert's labels and its path, and gives the labelled states (DAgger
  with the expert as the oracle).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kiwi_common.features import (
    ENVIRONMENT_STATE,
    INTERVENTION,
    Mapping,
    action_vector,
    image_feature,
    split_action,
)
from kiwi_common.task import TASK
from kiwi_description import constants as c
from kiwi_policy.lockstep import LockstepChunks
from kiwi_policy.scheduler import ChunkScheduler, default_late_hold
from kiwi_recorder.convert import seal_dataset
from kiwi_teleop.expert import WorldState
from kiwi_teleop.gating import Gate, action_errors, gate_observation

from .evaluation import Rollout, Sample, summarize

STATE = "observation.state"
IMAGES = image_feature("")  # the prefix of every camera's feature
MAX_TICKS = int(20 * c.CONTROL_RATE_HZ)  # 20 s, as kiwi demo's rollouts
X_VEL, Y_VEL = 6, 7  # indices of x.vel and y.vel in LeRobot's LeKiwi action
# Episodes an evaluation worker runs per task: a few seconds of work, so the workers stay balanced
# and an interrupted evaluation loses little (a run keeps each summary as it arrives).
EVALUATION_CHUNK = 5


class EnvRunError(RuntimeError):
    pass


def _observation(obs: dict) -> dict:
    """The env's observation under a Kiwi dataset's feature names."""
    seen = {STATE: obs["agent_pos"]}
    if "environment_state" in obs:
        seen[ENVIRONMENT_STATE] = obs["environment_state"]
    for cam, pixels in obs.get("pixels", {}).items():
        seen[image_feature(cam)] = pixels
    return seen


def env_options(mapping: Mapping) -> dict:
    """KiwiPickEnv's arguments that make it observe what `mapping` records: its cameras at their
    stored size, the environment state where the mapping has the ground truth."""
    shapes = set(mapping.image_shapes.values())
    if len(shapes) > 1:
        raise EnvRunError(f"the env renders every camera at one size; the mapping has {sorted(shapes)}")
    height, width = shapes.pop() if shapes else (96, 128)
    return {
        "cameras": tuple(mapping.cameras),
        "image_height": height,
        "image_width": width,
        "environment_state": bool(mapping.ground_truth),
    }


Frame = tuple[dict, np.ndarray]  # (observation, action) in LeRobot units


def expert_episode(
    env,
    seed: int,
    side: int,
    max_ticks: int = MAX_TICKS,
    rollout: Rollout | None = None,
    require_lift: bool = True,
) -> list[Frame]:
    """The expert from `seed`'s start detouring on `side`, until it lifts the cube (a `rollout`
    given is filled with the ground truth per tick). Not lifted within `max_ticks`: an error, or
    with `require_lift` False the episode as it went (a person's failed demonstration)."""
    obs, info = env.reset(seed=seed, options={"expert_side": side})
    frames = []
    for tick in range(max_ticks):
        action = info["expert_action"].astype(np.float32)
        frames.append((_observation(obs), action))
        if rollout is not None:
            rollout.samples.append(_sample(env, tick, info))
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            if rollout is not None:
                rollout.samples.append(_sample(env, tick + 1, info))
            return frames
    if require_lift:
        raise EnvRunError(f"the expert did not lift the cube from seed {seed}, side {side}")
    if rollout is not None:
        rollout.samples.append(_sample(env, max_ticks, info))
    return frames


def write_dataset(
    out: Path, episodes: list[list[Frame]], interventions: list | None = None, mapping: Mapping | None = None
) -> int:
    """Episodes as a new Kiwi dataset at `out` (LeRobot's writer, with the mapping file `kiwi
    train` needs; `mapping` the frames were observed with, state-only by default, images stored
    as images, not video); returns the number of frames. `interventions[i][t]`: the expert drove
    episode i's frame t (its `intervention` 1; none given: 0 everywhere)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    out = Path(out)
    if out.exists():
        raise EnvRunError(f"{out} exists; give a new folder")
    mapping = mapping or Mapping().state_only()
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)  # a write cut off before
    dataset = LeRobotDataset.create(
        "kiwi/env_demos",
        int(mapping.fps),
        mapping.features(False),
        root=staging,
        robot_type="lekiwi",
        use_videos=False,
    )
    for i, frames in enumerate(episodes):
        flags = np.zeros(len(frames)) if interventions is None else np.asarray(interventions[i], float)
        for (obs, action), flag in zip(frames, flags, strict=True):
            dataset.add_frame(
                {
                    **{k: v if k.startswith(IMAGES) else np.asarray(v, np.float32) for k, v in obs.items()},
                    "action": action,
                    INTERVENTION: np.full(1, flag, np.float32),
                    "task": TASK,
                }
            )
        dataset.save_episode()
    dataset.finalize()
    seal_dataset(staging, out, mapping)
    return sum(len(frames) for frames in episodes)


FRAME_RECORDS = ("action", "lengths", "intervention")  # a frames file's arrays beside the observation's


def save_frames(path: Path, episodes: list[list[Frame]], interventions: list | None = None) -> None:
    """Episodes of labelled frames (and per frame whether the expert drove) in one compressed
    .npz (rendered images shrink several times), written whole or not at all: a killed run
    leaves nothing that looks finished."""
    flags = interventions or [[False] * len(f) for f in episodes]
    partial = Path(path).with_name(Path(path).stem + ".partial.npz")
    keys = list(episodes[0][0][0]) if episodes and episodes[0] else []
    np.savez_compressed(
        partial,
        lengths=[len(f) for f in episodes],
        **{k: np.concatenate([[o[k] for o, _ in f] for f in episodes]) for k in keys},
        action=np.concatenate([[a for _, a in f] for f in episodes]),
        intervention=np.concatenate([np.asarray(f, bool) for f in flags]),
    )
    partial.rename(path)


def load_frames(path: Path) -> tuple[list[list[Frame]], list[np.ndarray]]:
    """What `save_frames` wrote: the episodes and their per-frame intervention flags."""
    with np.load(path) as stored:  # each stored[k] reads the whole array again: read each once
        data = {k: stored[k] for k in stored.files}
    keys = [k for k in data if k not in FRAME_RECORDS]
    bounds = np.cumsum([0, *data["lengths"]])
    spans = list(zip(bounds, bounds[1:]))
    episodes = [[({k: data[k][i] for k in keys}, data["action"][i]) for i in range(a, b)] for a, b in spans]
    return episodes, [data["intervention"][a:b] for a, b in spans]


def record_env_demos(out: Path, seeds: list[int], sides: tuple[int, ...] = (1, -1)) -> dict:
    """The expert from each seed's start, once per side in `sides`, as a new dataset at `out`;
    returns a summary with each episode's first lateral command."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    if Path(out).exists():
        raise EnvRunError(f"{out} exists; give a new folder")
    env = KiwiPickEnv(obstacle=True, render_mode=None)
    try:
        episodes = [expert_episode(env, seed, side) for seed in seeds for side in sides]
    finally:
        env.close()
    frames = write_dataset(out, episodes)
    start_lateral = [float(e[0][1][Y_VEL]) for e in episodes]
    return {"episodes": len(episodes), "frames": frames, "start_lateral": start_lateral}


@dataclass
class EnvEpisode:
    seed: int
    success: bool
    collision: bool
    clearance: float  # closest chassis-obstacle gap, m
    side: str  # left, right or neither: where the robot was when it passed the obstacle's centre
    seconds: float  # sim time to success (or the limit)
    start_lateral: float  # the first chunk's first y.vel (m/s): the choice at the ambiguous start
    action_error: float  # mean squared error of its actions against the expert's labels (on-policy)
    path: list  # robot (x, y) every 5 ticks
    # Times the chunks' lateral heading changed sign before the obstacle (`side_switches`): 0 for
    # a policy that commits to a detour; None in files written before it was measured.
    side_switches: int | None = None


SWITCH_DEADBAND = 0.02  # m/s: a chunk whose mean lateral speed is smaller heads for neither side


def side_switches(laterals: list[float], deadband: float = SWITCH_DEADBAND) -> int:
    """How often successive chunks head for opposite sides: signs of their mean lateral speeds
    (world frame), those inside the deadband skipped."""
    signs = [1 if v > 0 else -1 for v in laterals if abs(v) > deadband]
    return sum(a != b for a, b in zip(signs, signs[1:]))


def side_first_passed(path: list, obstacle_xy) -> str:
    """Which side of the obstacle the robot was on when its x first passed the obstacle's
    ("neither" without an obstacle)."""
    for x, y in [] if obstacle_xy is None else path:
        if x >= obstacle_xy[0]:
            return "left" if y > obstacle_xy[1] else "right"
    return "neither"


def drive_policy(
    env,
    predictor,
    seed: int,
    max_ticks: int = MAX_TICKS,
    rollout: Rollout | None = None,
    on_tick: Callable[[int, dict], None] | None = None,
    gate: Gate | None = None,
    side: int | None = None,
) -> tuple[EnvEpisode, list[Frame]]:
    """The policy drives from `seed`'s start (the obstacle there), its chunks timed as the policy
    node times them in the sim graph (`LockstepChunks`: a chunk is used from the tick after its
    observation; none yet, the robot holds). Returns the episode's record and every visited state
    labelled with the expert's action there (the expert following the detour the policy heads for):
    DAgger's data with the expert as the oracle. A `rollout` given is filled with the ground truth
    and the action errors per tick, as the ROS evaluation records them (`evaluation.summarize` reads
    either); `on_tick(tick, obs)` runs after each step with the env's new observation (a video grabs
    its frame). With a `gate`, HG-DAgger as the expert node runs it: the expert's side follows the
    policy's proposal every tick, the expert drives while the gate says so (each sample's
    `intervention`), and the policy plans a chunk every tick meanwhile, as the policy node does, so
    its first command after hand-back is from a fresh chunk. `side`: the expert's detour side at
    the start (default: drawn from the seed)."""
    import torch

    obs, info = env.reset(seed=seed, options=None if side is None else {"expert_side": side})
    predictor.reset()
    # A policy that samples (Diffusion's noise, a mixture's mode) draws from the layout's seed: an
    # episode is the same in any process and after any other (evaluation workers, resumed runs).
    torch.manual_seed(seed)
    if gate is not None:
        gate.reset()
    chunks = LockstepChunks(
        1.0 / c.CONTROL_RATE_HZ, ChunkScheduler(late_hold=default_late_hold(predictor.single_step))
    )
    hold = action_vector(dict(zip(c.ARM_JOINTS, env.sim.arm_positions())), (0.0, 0.0, 0.0))
    path, hit, closest = [], False, np.inf
    start_lateral, errors, frames, headings = None, [], [], []
    # The latest observations, one a tick, as the node keeps them: Diffusion reads the last two.
    history = deque(maxlen=predictor.n_obs_steps)
    for tick in range(max_ticks):
        seen = _observation(obs)
        history.append(seen)
        replan = gate is not None and gate.engaged
        action, asked = chunks.tick(tick, lambda: predictor.predict(list(history)), replan)
        if asked is not None:
            if start_lateral is None:
                start_lateral = float(asked.actions[0][Y_VEL])
            x, _, yaw = env.sim.base_pose()
            obstacle = env.layout.obstacle_xy
            if obstacle is not None and x < obstacle[0]:  # still choosing a side
                headings.append(_world_lateral(asked.actions, yaw))
        if action is None:  # no chunk yet: the node holds (the arm where it was last sent, the base still)
            action = hold
        else:
            hold = np.concatenate([action[:X_VEL], np.zeros(len(action) - X_VEL, action.dtype)])
        if gate is None:
            label = info["expert_action"].astype(np.float32)
        else:
            label = env.expert_action_for(split_action(action)[1]).astype(np.float32)
        frames.append((seen, label))
        errors.append(float(np.mean((action - label) ** 2)))
        expert_drives = gate is not None and _gate_verdict(env, gate, tick, action, info, rollout)
        if rollout is not None:
            _record_tick(env, rollout, tick, info, action, label, expert_drives)
        obs, _, terminated, _, info = env.step(label if expert_drives else action)
        if on_tick is not None:
            on_tick(tick, obs)
        hit |= bool(info["collision"])
        closest = min(closest, float(info["clearance"]))
        if tick % 5 == 0:
            path.append(tuple(round(v, 4) for v in env.sim.base_pose()[:2]))
        if terminated:
            break
    if rollout is not None:  # the state the last action led to (lifted, if it succeeded)
        rollout.samples.append(_sample(env, tick + 1, info))
    episode = EnvEpisode(
        seed,
        bool(terminated),
        hit,
        closest,
        side_first_passed(path, env.layout.obstacle_xy),
        (tick + 1) / c.CONTROL_RATE_HZ,
        start_lateral,
        float(np.mean(errors)),
        path,
        side_switches(headings),
    )
    return episode, frames


def _world_lateral(chunk, yaw: float) -> float:
    """The chunk's mean lateral (world y) speed, m/s."""
    actions = np.asarray(chunk)
    vx, vy = actions[:, X_VEL].mean(), actions[:, Y_VEL].mean()
    return float(np.sin(yaw) * vx + np.cos(yaw) * vy)


def _gate_verdict(env, gate: Gate, tick: int, action, info: dict, rollout: Rollout | None) -> bool:
    """The gate's verdict on the state the policy's `action` drives into (the env answers at once:
    the policy's commands are always fresh); a take-over's reason goes into the rollout."""
    _, twist = split_action(action)
    seen = gate_observation(
        WorldState.from_sim(env.sim), twist, env.expert_side, bool(info["collision"]), gate.rule
    )
    was = gate.engaged
    verdict = gate.update(tick / c.CONTROL_RATE_HZ, seen)
    if verdict and not was and rollout is not None:
        rollout.takeover_reasons.append(gate.reason)
    return verdict


def _sample(env, tick: int, info: dict, intervention: bool = False) -> Sample:
    x, y, yaw = env.sim.base_pose()
    cube_z = float(env.sim.cube_pose()[0][2])
    return Sample(
        tick / c.CONTROL_RATE_HZ,
        x,
        y,
        yaw,
        cube_z,
        intervention=intervention,
        gate=intervention,
        contact=bool(info["collision"]),
        between_jaws=bool(info["between_jaws"]),
    )


def _record_tick(env, rollout: Rollout, tick: int, info: dict, action, label, intervention: bool) -> None:
    rollout.samples.append(_sample(env, tick, info, intervention))
    (policy_arm, policy_twist), (expert_arm, expert_twist) = split_action(action), split_action(label)
    base, arm = action_errors(
        policy_twist,
        [policy_arm[j] for j in c.ARM_JOINTS],
        expert_twist,
        [expert_arm[j] for j in c.ARM_JOINTS],
    )
    rollout.base_errors.append(base)
    rollout.arm_errors.append(arm)


def evaluation_summaries(
    model: str | Path,
    seeds: list[int],
    max_ticks: int = MAX_TICKS,
    layouts: str = "default",
    workers: int = 1,
    chunk: int = EVALUATION_CHUNK,
    diffusion_noise: float | None = None,
):
    """`drive_policy` from each seed (of the layout distribution `layouts`), yielding each episode's
    summary in the ROS evaluation's format (`evaluation.summarize`): success, collisions,
    clearance, side, action errors, path. With `workers` > 1 the seeds go `chunk` at a time to that
    many processes (one core each: an episode is one thread of sim and policy); the summaries still
    come in seed order, and are the same as in one process: an episode depends only on its seed
    (the env resets from it, a sampling policy draws from it) and on the policy, reset with it.
    `diffusion_noise`: as the policy node's parameter (None: the checkpoint's default, `sampler_noise`)."""
    chunks = [seeds[i : i + chunk] for i in range(0, len(seeds), chunk)]
    workers = min(workers, len(chunks))
    if workers <= 1:
        with policy_in_env(model, layouts=layouts, diffusion_noise=diffusion_noise) as opened:
            for seed in seeds:
                yield _summary(*opened, seed, max_ticks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),  # a forked torch or MuJoCo is not safe
        initializer=_open_worker,
        initargs=(str(model), layouts, diffusion_noise),
    )
    try:
        for summaries in pool.map(_worker_summaries, chunks, [max_ticks] * len(chunks)):
            yield from summaries
    finally:  # stopped early (interrupted, or the caller is done): the queued chunks are dropped
        pool.shutdown(wait=True, cancel_futures=True)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0))


def _summary(predictor, env, seed: int, max_ticks: int) -> dict:
    rollout = Rollout(seed, None)
    drive_policy(env, predictor, seed, max_ticks, rollout)
    rollout.obstacle = env.layout.obstacle_xy  # the layout drive_policy reset to
    return summarize(rollout)


# An evaluation worker's (predictor, env), open until the worker exits, or the error opening them
# raised (raised again with its first task, as the one-process evaluation raises it).
_worker_policy_env: tuple | Exception | None = None
_worker_resources = ExitStack()


def _open_worker(model: str, layouts: str, diffusion_noise: float | None) -> None:
    global _worker_policy_env
    try:
        _worker_policy_env = _worker_resources.enter_context(
            policy_in_env(model, layouts=layouts, diffusion_noise=diffusion_noise)
        )
    except Exception as exc:  # an initializer's error would only break the pool
        _worker_policy_env = exc


def _worker_summaries(seeds: list[int], max_ticks: int) -> list[dict]:
    if isinstance(_worker_policy_env, Exception):
        raise _worker_policy_env
    return [_summary(*_worker_policy_env, seed, max_ticks) for seed in seeds]


@contextmanager
def policy_in_env(
    model: str | Path | None,
    render: bool = False,
    act_latent: str = "zero",
    layouts: str = "default",
    mapping: Mapping | None = None,
    diffusion_noise: float | None = None,
):
    """The checkpoint `model` loaded as the policy node loads it (feature check, processors;
    `act_latent` and `diffusion_noise` as the node's parameters, the latent's draws seeded,
    the noise None for the checkpoint's default; `model` None: no policy, the expert's episodes)
    and an obstacle env for it (its `layouts` distribution; rendering its top-down view if asked)
    that observes what the checkpoint's mapping records (no model: `mapping`, by default
    state-only); the env is closed afterwards."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_policy.checkpoint import load_policy
    from kiwi_policy.inference import ChunkPredictor

    predictor = (
        None
        if model is None
        else ChunkPredictor(
            load_policy(str(model)), act_latent=act_latent, seed=0, diffusion_noise=diffusion_noise
        )
    )
    observed = predictor.loaded.read_mapping if predictor else mapping or Mapping().state_only()
    env = KiwiPickEnv(
        obstacle=True,
        render_mode="rgb_array" if render else None,
        layouts=layouts,
        **env_options(observed),
    )
    try:
        yield predictor, env
    finally:
        env.close()


def policy_runs(
    model: str | Path,
    seeds: list[int],
    max_ticks: int = MAX_TICKS,
    act_latent: str = "zero",
    diffusion_noise: float | None = None,
):
    """`drive_policy` from each seed with the checkpoint `model`; yields (episode, labelled frames)."""
    with policy_in_env(model, act_latent=act_latent, diffusion_noise=diffusion_noise) as (predictor, env):
        for seed in seeds:
            yield drive_policy(env, predictor, seed, max_ticks)


def policy_videos(
    model: str | Path,
    seeds: list[int],
    max_ticks: int = MAX_TICKS,
    every: int = 3,
    diffusion_noise: float | None = None,
):
    """`drive_policy` from each seed with the env's top-down view grabbed every `every` ticks,
    beside what the policy's cameras saw then, if it has any; yields (episode, frames)."""
    from .videos import beside_cameras

    with policy_in_env(model, render=True, diffusion_noise=diffusion_noise) as (predictor, env):
        for seed in seeds:
            frames = []

            def grab(tick: int, obs: dict, frames: list = frames) -> None:
                if tick % every == 0:
                    frames.append(beside_cameras(env.render(), obs.get("pixels", {})))

            episode, _ = drive_policy(env, predictor, seed, max_ticks, on_tick=grab)
            yield episode, frames


def evaluate_in_env(
    model: str | Path,
    seeds: list[int],
    max_ticks: int = MAX_TICKS,
    act_latent: str = "zero",
    diffusion_noise: float | None = None,
) -> list[EnvEpisode]:
    return [episode for episode, _ in policy_runs(model, seeds, max_ticks, act_latent, diffusion_noise)]


def start_commands(
    model: str | Path,
    seeds: list[int],
    samples: int,
    act_latent: str = "zero",
    diffusion_noise: float | None = None,
) -> list[float]:
    """The policy's first y.vel at each seed's start state, `samples` times each, each a new
    episode (a policy that samples, as a mixture, Diffusion or ACT with a latent per episode do,
    gives a distribution; a deterministic one the same value)."""
    values = []
    with policy_in_env(model, act_latent=act_latent, diffusion_noise=diffusion_noise) as (predictor, env):
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            for _ in range(samples):
                predictor.reset()
                values.append(float(predictor.predict([_observation(obs)])[0][Y_VEL]))
    return values


def write_episodes(path: Path, episodes: list[EnvEpisode]) -> None:
    Path(path).write_text(json.dumps([asdict(e) for e in episodes]))


def read_episodes(path: Path) -> list[EnvEpisode]:
    return [EnvEpisode(**e) for e in json.loads(Path(path).read_text())]
