"""HG-DAgger in the gymnasium env: the gate takes over from a policy heading for the obstacle, the
frames keep who drove, and `kiwi demo --backend env` turns the take-overs into correction episodes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from kiwi_experiments.env_runs import MAX_TICKS, X_VEL, drive_policy, load_frames, save_frames
from kiwi_experiments.evaluation import Rollout, summarize
from kiwi_teleop.gating import REASONS, Gate


class StraightAhead:
    """A policy that drives at 0.15 m/s straight ahead with the arm where the expert holds it at
    the start: into the obstacle, which stands on the line to the cube."""

    single_step = False
    n_obs_steps = 1

    def __init__(self, first_label):
        self.chunk = np.tile(np.asarray(first_label, np.float32), (10, 1))
        self.chunk[:, X_VEL:] = (0.15, 0.0, 0.0)

    def reset(self):
        pass

    def predict(self, observations):
        return self.chunk


def test_frames_round_trip_with_who_drove(tmp_path):
    obs = {"observation.state": np.arange(9, dtype=np.float32), "observation.environment_state": np.ones(6)}
    episodes = [[(obs, np.full(9, k, np.float32)) for k in range(3)], [(obs, np.zeros(9, np.float32))]]
    save_frames(tmp_path / "b.npz", episodes, [[False, True, True], [True]])
    loaded, flags = load_frames(tmp_path / "b.npz")
    assert [len(e) for e in loaded] == [3, 1] and [f.tolist() for f in flags] == [[False, True, True], [True]]
    assert loaded[0][2][1].tolist() == [2.0] * 9
    assert (loaded[1][0][0]["observation.state"] == obs["observation.state"]).all()
    assert not list(tmp_path.glob("*.partial.npz"))


@pytest.mark.integration
def test_the_gate_takes_over_before_the_obstacle_and_hands_back():
    from lerobot_env_kiwi.env import KiwiPickEnv

    env = KiwiPickEnv(obstacle=True)
    try:
        _, info = env.reset(seed=5000)
        policy = StraightAhead(info["expert_action"])
        rollout = Rollout(5000, None)
        episode, frames = drive_policy(env, policy, 5000, MAX_TICKS, rollout, gate=Gate(), side=1)
        rollout.obstacle = env.layout.obstacle_xy
    finally:
        env.close()
    summary = summarize(rollout)
    flags = [s.intervention for s in rollout.samples[: len(frames)]]
    assert not flags[0], "the policy starts"
    # Straight ahead, the chassis would run into the box; the expert took it around.
    assert summary["interventions"] >= 1 and summary["min_clearance"] > 0
    assert episode.side == "left", "the expert's side at the start, kept: the policy heads for neither"
    assert len(rollout.takeover_reasons) == summary["interventions"] and set(rollout.takeover_reasons) <= set(
        REASONS
    )
    # Handed back once safe: the policy drives again (and, straight ahead past the grasp stand,
    # strays and is taken over again); every take-over is a rising edge of the frames' flags.
    assert summary["interventions"] == sum(a and not b for a, b in zip(flags[1:], flags))
    assert not all(flags[flags.index(True) :]), "control came back to the policy"


@pytest.mark.integration
def test_quick_env_demo_makes_correction_episodes(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    run = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiwi_experiments.cli",
            "demo",
            "--quick",
            "--backend",
            "env",
            "--out",
            str(run),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rollouts = [
        json.loads(line) for line in (run / "episodes" / "rollouts_r0.jsonl").read_text().splitlines()
    ]
    assert len(rollouts) == 2 and all(r["interventions"] >= 1 for r in rollouts), (
        "10 steps of training: taken over"
    )
    sources = json.loads((run / "datasets" / "hg_r1" / "meta" / "kiwi_demo_sources.json").read_text())
    assert sources["demonstrations"] == 2 and sources["rollouts"] == 2 and sources["episodes"] > 2
    ds = LeRobotDataset("local/hg_r1", root=run / "datasets" / "hg_r1")
    flag = np.asarray(ds.hf_dataset["intervention"]).reshape(-1)
    episode = np.asarray(ds.hf_dataset["episode_index"]).reshape(-1)
    assert (flag[episode < 2] == 0).all() and flag[episode >= 2].mean() > 0.5, "demos 0, corrections 1"
    starts = np.flatnonzero(np.diff(episode, prepend=-1))
    assert (flag[starts[2:]] == 1).all(), "a correction starts where the expert took over"
    assert (episode >= 2).sum() % 2 == 0, "each correction twice (correction_weight)"
    # The demonstrations' dataset is the same in both: round 1 adds to it.
    r0 = LeRobotDataset("local/r0", root=run / "datasets" / "r0")
    assert r0.meta.total_episodes == 2 and len(r0) == int((episode < 2).sum())
    report = (run / "report" / "README.md").read_text()
    assert "ran in the gymnasium env (`--backend env`" in report and "through the mux" not in report
    results = json.loads((run / "report" / "results.json").read_text())
    assert results["config"]["backend"] == "env" and results["rows"]["eval_r0"]["episodes"] == 2
    # The effort-matched arm: the demonstrations and extra expert ones, at least as many frames as
    # the corrections (each once); its schedule continues round 0 as round 1 does.
    bc = json.loads((run / "datasets" / "bc" / "meta" / "kiwi_demo_sources.json").read_text())
    extra = bc["frames"] - len(r0)
    assert sources["correction_frames"] > 0 and bc["rollouts"] == 0
    assert sources["correction_frames"] <= extra < sources["correction_frames"] + 600, (
        "one episode over at most"
    )
    assert bc["demonstrations"] == 2 + len((run / "episodes" / "extra_demos.jsonl").read_text().splitlines())
    log = (run / "logs" / "train_bc.log").read_text()
    assert f"--policy.path={run / 'models' / 'r0' / 'checkpoints' / 'last' / 'pretrained_model'}" in log
    takeovers = [results["rows"][f"rollouts_r{r}"]["interventions_per_episode"] for r in (0, 1)]
    assert all(t is not None for t in takeovers), "the last model's take-overs are measured too"


@pytest.mark.integration
def test_image_episodes_record_the_cameras_and_no_ground_truth(tmp_path):
    """`--observation images`: the env's demonstrations keep both cameras at the policy's size, and
    their dataset has images and the state, nothing from the sim's ground truth."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from kiwi_experiments.env_episodes import EnvEpisodes
    from kiwi_experiments.episodes import EpisodePlan
    from kiwi_experiments.plan import IMAGE_SIZE, Batch, DemoConfig

    source = EnvEpisodes(tmp_path, DemoConfig(observation="images", backend="env"))
    summaries = []
    source.run(Batch("demos", "record", {}, [EpisodePlan(1000, True)], 0, False, 1.0), summaries.append)
    assert len(summaries) == 1
    (frames,), _ = load_frames(tmp_path / "bags" / "demos" / "episode_000.npz")
    assert set(frames[0][0]) == {"observation.state", "observation.images.front", "observation.images.wrist"}
    assert frames[0][0]["observation.images.wrist"].shape == (*IMAGE_SIZE, 3)
    summary = source.write_dataset(tmp_path / "dataset", ["demos"], [])
    dataset = LeRobotDataset("local/images", root=tmp_path / "dataset")
    assert summary["frames"] == len(frames) == len(dataset)
    assert "observation.environment_state" not in dataset.meta.features
    image = dataset[0]["observation.images.front"]
    assert tuple(image.shape) == (3, *IMAGE_SIZE) and image.std() > 0.02, "a rendered image, not a blank"
    # A camera policy trained on it drives the env, which renders for it what it was trained on.
    from kiwi_experiments.env_runs import evaluation_summaries
    from kiwi_policy.train import train

    tiny = ["--policy.image_channels=8", "--policy.keypoints=4", "--policy.hidden_dim=32"]
    model = train(tmp_path / "dataset", "kiwi_mlp", tmp_path / "model", steps=2, batch_size=2, extra=tiny)
    (episode,) = evaluation_summaries(model, [900_000], max_ticks=20)
    assert episode["seed"] == 900_000 and not episode["success"]
