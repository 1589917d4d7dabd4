"""Demonstrations and evaluations in the gymnasium env: the expert recorded both ways from the same
start into a dataset kiwi train takes, and a kiwi_mlp checkpoint evaluated through Kiwi's loader."""

import math
import subprocess
import sys

import numpy as np
import pytest

from kiwi_common.features import MAPPING_FILE, MOTOR_NAMES, Mapping
from kiwi_common.normalization import floor_for
from kiwi_experiments.env_runs import (
    EnvRunError,
    evaluation_summaries,
    policy_runs,
    policy_videos,
    record_env_demos,
    side_first_passed,
    side_switches,
    start_commands,
)
from kiwi_experiments.videos import episode_label, labelled, write_video
from kiwi_policy.checkpoint import CheckpointError
from kiwi_policy.sampler_noise import SamplerError


def test_side_first_passed():
    assert side_first_passed([(0.0, 0.0), (0.3, 0.2), (0.6, 0.3)], (0.5, 0.0)) == "left"
    assert side_first_passed([(0.0, 0.0), (0.6, -0.3)], (0.5, 0.0)) == "right"
    assert side_first_passed([(0.0, 0.0), (0.2, 0.1)], (0.5, 0.0)) == "neither"


def test_side_switches_count_reversals_outside_the_deadband():
    assert side_switches([0.15, 0.12, 0.1]) == 0, "committed to the left"
    assert side_switches([0.15, -0.12, 0.1, -0.1]) == 3
    assert side_switches([0.15, 0.01, -0.01, 0.12]) == 0, "dithering inside the deadband is no switch"
    assert side_switches([0.15, 0.0, -0.12]) == 1
    assert side_switches([]) == 0


@pytest.mark.integration
def test_bimodal_demos_train_and_evaluate(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = tmp_path / "demos"
    summary = record_env_demos(dataset, [7], (1, -1))
    left, right = summary["start_lateral"]
    assert left > 0.1 and right < -0.1, "the same start, one detour each way"
    ds = LeRobotDataset("kiwi/env_demos", root=dataset)
    assert ds.meta.total_episodes == 2 and len(ds) == summary["frames"]
    expected = Mapping().state_only().features(False)
    assert {k: ds.meta.features[k]["shape"] for k in expected} == {
        k: tuple(v["shape"]) for k, v in expected.items()
    }
    assert Mapping.load(dataset / "meta" / MAPPING_FILE) == Mapping().state_only()
    # The expert never turns: the turn's spread is its floor, not the data's (normalization.py).
    theta = MOTOR_NAMES.index("theta.vel")
    assert ds.meta.stats["action"]["std"][theta] == pytest.approx(floor_for("theta.vel"))
    with pytest.raises(EnvRunError, match="exists"):
        record_env_demos(dataset, [7])

    model = tmp_path / "model"
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_experiments.cli", "train", str(dataset), "--policy", "kiwi_mlp"]
        + ["--out", str(model), "--steps", "5", "--batch-size", "4", "--", "--policy.head=mixture"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    runs = list(policy_runs(model, [5000, 5001], max_ticks=40))
    assert [e.seed for e, _ in runs] == [5000, 5001]
    for e, frames in runs:
        assert not e.success and e.seconds == pytest.approx(40 / 30), "5 steps of training lift nothing"
        assert e.side in ("left", "right", "neither") and e.clearance > 0 and len(e.path) == 8
        assert e.start_lateral is not None and e.action_error > 0, "an untrained policy is not the expert"
        assert isinstance(e.side_switches, int) and e.side_switches >= 0
        # Every visited state, labelled with the expert's action (DAgger's data).
        assert len(frames) == 40 and frames[0][1].shape == (9,)
        assert frames[0][1][6] > 0.05 and abs(frames[0][1][7]) > 0.1, "from the start: forward and aside"
    # The first lateral command at a start, asked three times (a mixture samples its mode).
    first = start_commands(model, [5000, 5001], samples=3)
    assert len(first) == 6 and all(math.isfinite(v) for v in first)

    # The report's video: the episode evaluated on that layout (the mixture samples its mode from
    # the layout's seed, so the same path), seen from above every 3 ticks.
    ((episode, shots),) = policy_videos(model, [5000], max_ticks=40, every=3)
    assert episode.seed == 5000 and episode.path == runs[0][0].path and len(episode.path) == 8
    assert len(shots) == 14 and shots[0].shape == (240, 320, 3) and shots[0].std() > 10
    frames = [labelled(shot, episode_label(episode)) for shot in shots]
    assert (frames[0][:16] != shots[0][:16]).any() and (frames[0][16:] == shots[0][16:]).all()
    video = write_video(tmp_path / "videos" / "r0.mp4", frames, 10.0)
    import av

    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 14 and decoded[0].shape == (240, 320, 3)
    assert not list(video.parent.glob("*.partial*")), "only the finished file is left"


@pytest.mark.integration
def test_an_evaluation_in_parallel_workers_gives_the_one_process_summaries_in_seed_order(tmp_path):
    dataset, model = tmp_path / "demos", tmp_path / "model"
    record_env_demos(dataset, [7], (1,))
    run = subprocess.run(
        [sys.executable, "-m", "kiwi_experiments.cli", "train", str(dataset), "--policy", "kiwi_mlp"]
        + ["--out", str(model), "--steps", "5", "--batch-size", "4", "--", "--policy.head=mixture"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    seeds = [5000, 5001, 5002]  # a mixture samples: the same only if each episode draws from its seed
    alone = list(evaluation_summaries(model, seeds, max_ticks=30))
    # One seed per task on two workers: the second worker's first episode is the third seed's.
    spread = list(evaluation_summaries(model, seeds, max_ticks=30, workers=2, chunk=1))
    assert [s["seed"] for s in spread] == seeds
    assert spread == alone
    with pytest.raises(CheckpointError):  # as in one process, not a broken pool
        list(evaluation_summaries(tmp_path / "nothing", seeds, max_ticks=30, workers=2, chunk=1))
    with pytest.raises(SamplerError, match="for Diffusion"):  # the workers' policies get the option
        list(evaluation_summaries(model, seeds, max_ticks=30, workers=2, chunk=1, diffusion_noise=0.0))
    assert alone[0]["obstacle"] != alone[1]["obstacle"], "the layouts differ, so the order is checked"


class Replay:
    """A stand-in predictor: the recorded actions one tick late (the robot holds its first tick,
    waiting for a chunk), ten at a time; the asking tick read from the rollout being filled."""

    single_step = False
    n_obs_steps = 1

    def __init__(self, actions, rollout):
        self.actions, self.rollout = np.asarray(actions), rollout

    def reset(self):
        pass

    def predict(self, observations):
        tick = len(self.rollout.samples)  # a chunk's action 1 is used at the next tick
        return self.actions[np.clip(np.arange(tick - 1, tick + 9), 0, len(self.actions) - 1)]


def test_an_env_rollout_is_summarized_as_the_ros_evaluation_summarizes_one():
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_experiments.env_runs import drive_policy, expert_episode
    from kiwi_experiments.evaluation import Rollout, summarize

    env = KiwiPickEnv(obstacle=True, render_mode=None)
    try:
        frames = expert_episode(env, 5003, 1)
        rollout = Rollout(5003, None)
        replay = Replay([action for _, action in frames], rollout)
        episode, labels = drive_policy(env, replay, 5003, rollout=rollout)
        rollout.obstacle = env.layout.obstacle_xy
    finally:
        env.close()
    summary = summarize(rollout)
    assert episode.success and summary["success"], "the expert's own actions, replayed, lift the cube"
    assert summary["time_to_success"] == pytest.approx((len(frames) + 1) / 30, abs=1e-3)
    assert summary["side"] == "left" and summary["collisions"] == 0 and summary["min_clearance"] > 0.02
    # Its labels are the expert's actions again (the first, before any command shows a side, may differ).
    assert summary["base_error"] < 0.01 and summary["arm_error_deg"] < 0.5
    assert len(labels) == len(frames) + 1  # its first tick held


class TwoFrames:
    """A stand-in predictor reading two observations, as Diffusion does: keeps the states it was
    given; its chunks turn the base one way and the other, so consecutive states differ."""

    single_step = False
    n_obs_steps = 2

    def __init__(self, hold, states):
        self.given, self.states = [], states  # states: the episode's observations so far
        self.chunk = np.tile(np.asarray(hold, np.float32), (8, 1))
        self.chunk[:, -1] = 0.6 * np.sin(np.arange(8))  # theta.vel

    def reset(self):
        pass

    def predict(self, observations):
        tick = len(self.states) - 1  # asked at this tick, from its observation
        self.given.append((tick, [o["observation.state"].copy() for o in observations]))
        return self.chunk


def test_a_policy_reading_two_observations_gets_the_last_two_ticks():
    """As the policy node keeps them: this tick's observation and the one a tick before, not this
    one twice (which hid the robot's motion from Diffusion in the env's evaluations)."""
    from lerobot_env_kiwi.env import KiwiPickEnv

    from kiwi_experiments.env_runs import drive_policy

    env = KiwiPickEnv(obstacle=True, render_mode=None)
    try:
        obs, _ = env.reset(seed=5003)
        states = [obs["agent_pos"].copy()]  # the observation at each tick
        predictor = TwoFrames(np.concatenate([obs["agent_pos"][:6], [0.0, 0.0, 0.0]]), states)
        drive_policy(
            env, predictor, 5003, max_ticks=40, on_tick=lambda _, o: states.append(o["agent_pos"].copy())
        )
    finally:
        env.close()
    (tick, first), *later = predictor.given
    assert tick == 0 and len(first) == 1 and np.array_equal(first[0], states[0]), (
        "at the start, the one there is"
    )
    assert len(later) >= 3
    for tick, (before, now) in later:
        assert np.array_equal(now, states[tick]) and np.array_equal(before, states[tick - 1]), f"tick {tick}"
        assert not np.array_equal(before, now), "the robot moved between them"


def test_an_image_policys_video_shows_its_cameras_as_it_saw_them():
    from kiwi_experiments.videos import LABEL_ROWS, beside_cameras

    view = np.full((240, 320, 3), 90, np.uint8)
    front = np.zeros((96, 128, 3), np.uint8)
    front[:48] = (255, 0, 0)  # top half red
    wrist = np.full((96, 128, 3), (0, 0, 255), np.uint8)
    frame = beside_cameras(view, {"front": front, "wrist": wrist})
    cell_h = (240 - LABEL_ROWS) // 2
    assert frame.shape == (240, 320 + 150, 3) and frame.shape[1] % 2 == 0
    assert (frame[:, :320] == view).all(), "the view is untouched"
    assert (frame[LABEL_ROWS + 2, 330] == (255, 0, 0)).all() and (frame[LABEL_ROWS + 100, 400] == 0).all()
    assert (frame[LABEL_ROWS + cell_h + 2, 330] == (0, 0, 255)).all(), "the wrist below the front"
    # Scaled by repeating pixels: the red-black edge stays one sharp step.
    edge = frame[LABEL_ROWS : LABEL_ROWS + cell_h, 400, 0]
    assert set(np.unique(edge)) <= {0, 255}
    assert beside_cameras(view, {}) is view, "a state policy's video is the view alone"
