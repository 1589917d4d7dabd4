"""Demonstrations and evaluations in the gymnasium env (lerobot_env_kiwi), in one process: the same
task, layouts and expert as the ROS sim graph, as fast as the CPU goes (state-only policies).

- `record_env_demos`: the expert's episodes written as a Kiwi state-only dataset through LeRobot's
  dataset writer (the features of `kiwi convert --state-only`, with its mapping file, so
  `kiwi train` takes it). `sides` records each start state once per detour side asked: (1, -1)
  gives demonstrations that are bimodal at exactly the same observations.
- `evaluate_in_env`: a checkpoint drives the env through Kiwi's own loader (`load_policy`, the
  policy node's feature check and processors) a chunk at a time; per episode it records success,
  collisions, closest approach, the side it passed the obstacle on and its path.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kiwi_common.features import ENVIRONMENT_STATE, INTERVENTION, MAPPING_FILE, Mapping
from kiwi_common.task import TASK
from kiwi_description import constants as c

STATE = "observation.state"
MAX_TICKS = int(20 * c.CONTROL_RATE_HZ)  # 20 s, as kiwi demo's rollouts
Y_VEL = 7  # index of y.vel in LeRobot's LeKiwi action


class EnvRunError(RuntimeError):
    pass


def _observation(obs: dict) -> dict:
    return {STATE: obs["agent_pos"], ENVIRONMENT_STATE: obs["environment_state"]}


def record_env_demos(out: Path, seeds: list[int], sides: tuple[int, ...] = (1, -1)) -> dict:
    """The expert from each seed's start, once per side in `sides`, as a new dataset at `out`;
    returns a summary. Episodes the expert does not finish within MAX_TICKS are an error."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from lerobot_env_kiwi.env import KiwiPickEnv

    out = Path(out)
    if out.exists():
        raise EnvRunError(f"{out} exists; give a new folder")
    mapping = Mapping().state_only()
    staging = out.with_name(out.name + ".partial")
    dataset = LeRobotDataset.create(
        "kiwi/env_demos",
        int(mapping.fps),
        mapping.features(False),
        root=staging,
        robot_type="lekiwi",
        use_videos=False,
    )
    env = KiwiPickEnv(obstacle=True, render_mode=None)
    frames, start_lateral = 0, []
    try:
        for seed in seeds:
            for side in sides:
                obs, info = env.reset(seed=seed, options={"expert_side": side})
                for tick in range(MAX_TICKS):
                    action = info["expert_action"].astype(np.float32)
                    if tick == 0:
                        start_lateral.append(float(action[Y_VEL]))
                    dataset.add_frame(
                        {
                            **{k: np.asarray(v, np.float32) for k, v in _observation(obs).items()},
                            "action": action,
                            INTERVENTION: np.zeros(1, np.float32),
                            "task": TASK,
                        }
                    )
                    obs, _, terminated, _, info = env.step(action)
                    if terminated:
                        break
                else:
                    raise EnvRunError(f"the expert did not lift the cube from seed {seed}, side {side}")
                frames += tick + 1
                dataset.save_episode()
        dataset.finalize()
        (staging / "meta" / MAPPING_FILE).write_text(mapping.to_json())
        staging.rename(out)
    finally:
        env.close()
    return {"episodes": len(seeds) * len(sides), "frames": frames, "start_lateral": start_lateral}


@dataclass
class EnvEpisode:
    seed: int
    success: bool
    collision: bool
    clearance: float  # closest chassis-obstacle gap, m
    side: str  # left, right or neither: where the robot was when it passed the obstacle's centre
    seconds: float  # sim time to success (or the limit)
    start_lateral: float  # the first command's y.vel (m/s): the choice at the ambiguous start
    path: list  # robot (x, y) every 5 ticks


def passing_side(path: list, obstacle_xy) -> str:
    """Which side of the obstacle the robot was on when its x first passed the obstacle's."""
    for x, y in path:
        if x >= obstacle_xy[0]:
            return "left" if y > obstacle_xy[1] else "right"
    return "neither"


def evaluate_in_env(model: str | Path, seeds: list[int], max_ticks: int = MAX_TICKS) -> list[EnvEpisode]:
    """One episode per seed, the obstacle on every one; a new chunk when the last is used up."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_policy.checkpoint import load_policy
    from kiwi_policy.inference import ChunkPredictor

    predictor = ChunkPredictor(load_policy(str(model)))
    env = KiwiPickEnv(obstacle=True, render_mode=None)
    episodes = []
    try:
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            predictor.reset()
            chunk, used, path, hit, closest = None, 0, [], False, np.inf
            start_lateral = None
            for tick in range(max_ticks):
                if chunk is None or used == len(chunk):
                    chunk, used = predictor.predict([_observation(obs)]), 0
                    if start_lateral is None:
                        start_lateral = float(chunk[0][Y_VEL])
                obs, _, terminated, _, info = env.step(chunk[used])
                used += 1
                hit |= bool(info["collision"])
                closest = min(closest, float(info["clearance"]))
                if tick % 5 == 0:
                    path.append(tuple(round(v, 4) for v in env.sim.base_pose()[:2]))
                if terminated:
                    break
            episodes.append(
                EnvEpisode(
                    seed,
                    bool(terminated),
                    hit,
                    closest,
                    passing_side(path, env.layout.obstacle_xy),
                    (tick + 1) / c.CONTROL_RATE_HZ,
                    start_lateral,
                    path,
                )
            )
    finally:
        env.close()
    return episodes


def start_commands(model: str | Path, seeds: list[int], samples: int) -> list[float]:
    """The policy's first y.vel at each seed's start state, `samples` times each (a policy that
    samples, as a mixture does, gives a distribution; a deterministic one the same value)."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_policy.checkpoint import load_policy
    from kiwi_policy.inference import ChunkPredictor

    predictor = ChunkPredictor(load_policy(str(model)))
    env = KiwiPickEnv(obstacle=True, render_mode=None)
    try:
        values = []
        for seed in seeds:
            obs, _ = env.reset(seed=seed)
            values += [float(predictor.predict([_observation(obs)])[0][Y_VEL]) for _ in range(samples)]
        return values
    finally:
        env.close()


def write_episodes(path: Path, episodes: list[EnvEpisode]) -> None:
    Path(path).write_text(json.dumps([asdict(e) for e in episodes]))


def read_episodes(path: Path) -> list[EnvEpisode]:
    return [EnvEpisode(**e) for e in json.loads(Path(path).read_text())]
