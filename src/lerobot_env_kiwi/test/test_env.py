"""The gymnasium env on its own: layouts, determinism, timing, limits, the expert in `info`, and
the LeRobot config's features against a Kiwi dataset's."""

import math

import gymnasium as gym
import numpy as np
import pytest
from lerobot_env_kiwi.env import MAX_STEP, KiwiPickEnv

from kiwi_common.features import ENVIRONMENT_NAMES, MOTOR_NAMES, Mapping
from kiwi_common.task import HELD_Z, sample_layout
from kiwi_description import constants as c
from lerobot_env_kiwi import GYM_ID, KiwiEnv


@pytest.fixture(scope="module")
def env():
    env = KiwiPickEnv()
    yield env
    env.close()


def hold(obs, twist=(0.0, 0.0, 0.0)) -> np.ndarray:
    """An action that keeps the arm where it is and drives the base at `twist` (LeRobot units)."""
    return np.concatenate([obs["agent_pos"][: len(c.ARM_JOINTS)], twist]).astype(np.float32)


def test_reset_gives_the_ros_sims_layout_and_lerobot_units(env):
    obs, info = env.reset(seed=5)
    layout = sample_layout(5, True)
    assert env.layout == layout
    assert obs["agent_pos"].shape == (len(MOTOR_NAMES),) and obs["agent_pos"].dtype == np.float32
    assert obs["environment_state"].shape == (len(ENVIRONMENT_NAMES),)
    # The robot at the origin sees the cube straight ahead at the layout's distance, on the floor.
    cube_x, cube_y, cube_z = obs["environment_state"][:3]
    assert (cube_x, cube_y) == pytest.approx(layout.cube_xy, abs=1e-4)
    assert cube_z == pytest.approx(c.CUBE_SIZE / 2, abs=1e-3)
    assert obs["environment_state"][-1] == 1.0  # obstacle present
    gripper = obs["agent_pos"][c.ARM_JOINTS.index(c.GRIPPER_JOINT)]
    assert gripper == pytest.approx(0.0, abs=0.5), "home gripper (closed) is 0 in LeRobot's 0..100"
    assert not info["is_success"] and not info["collision"] and info["clearance"] > 0.2


def test_same_seed_and_actions_give_the_same_observations(env):
    def run(seed):
        obs, _ = env.reset(seed=seed)
        states = []
        for k in range(20):
            obs, *_ = env.step(hold(obs, (0.1, 0.02 * math.sin(k), 20.0)))
            states.append(np.concatenate([obs["agent_pos"], obs["environment_state"]]))
        return np.array(states)

    first, again, other = run(2), run(2), run(3)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first[:, -8:], other[:, -8:]), "another seed, another layout"


@pytest.mark.parametrize("delay", [0, 1, 2])
def test_an_action_reaches_the_robot_after_the_delay(delay):
    env = KiwiPickEnv(action_delay=delay)
    try:
        obs, _ = env.reset(seed=1)
        speeds = []
        for _ in range(4):
            obs, *_ = env.step(hold(obs, (0.15, 0.0, 0.0)))
            speeds.append(obs["agent_pos"][len(c.ARM_JOINTS)])  # x.vel measured from the wheels
        moving = [s > 0.05 for s in speeds]
        assert moving == [k >= delay for k in range(4)], speeds
    finally:
        env.close()


def test_arm_targets_are_limited_as_by_the_driver(env):
    obs, _ = env.reset(seed=0)
    pan = c.ARM_JOINTS.index("arm_shoulder_pan")
    far = hold(obs)
    far[pan] = 500.0  # degrees, beyond the joint's limit
    before = env.sim.arm_positions()[pan]
    obs, *_ = env.step(far)  # delay 1: this one is queued
    obs, *_ = env.step(far)
    moved = env.sim.arm_targets()[pan] - before
    assert 0 < moved <= MAX_STEP + 1e-9, "one tick moves the target by at most max_step"


@pytest.mark.parametrize(
    "action, message",
    [(np.zeros(5), "has 9 values"), (np.full(9, np.nan), "non-finite")],
)
def test_bad_actions_are_refused_with_a_reason(env, action, message):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_the_expert_in_info_picks_the_cube_around_the_obstacle_on_the_side_asked(env):
    for seed, side in ((0, 1), (0, -1), (1, 1)):
        obs, info = env.reset(seed=seed, options={"expert_side": side})
        lateral, held_since = [], None
        for _ in range(600):
            obs, reward, terminated, truncated, info = env.step(info["expert_action"])
            lateral.append(env.sim.base_pose()[1] - env.layout.obstacle_xy[1])
            held_up = info["between_jaws"] and env.sim.cube_pose()[0][2] >= HELD_Z
            held_since = (held_since or env.sim.time) if held_up else None
            if terminated:
                break
        assert terminated and info["is_success"] and reward == 1.0, f"seed {seed}: {info['expert_phase']}"
        assert info["lifted"] and info["between_jaws"] and not info["collision"]
        assert env.sim.time - held_since == pytest.approx(1.0, abs=0.04), "strict success: held for 1 s"
        assert side * max(lateral, key=abs) > 0.25, f"seed {seed}: not round the side asked ({side})"
    with pytest.raises(ValueError, match="expert_side"):
        env.reset(seed=0, options={"expert_side": 0})


def test_a_cube_let_go_after_the_lift_is_no_success(env):
    """The loose measure counts a cube that rose once; the strict one needs it held for 1 s."""
    obs, info = env.reset(seed=2, options={"expert_side": 1})
    while not info["lifted"]:
        obs, _, terminated, _, info = env.step(info["expert_action"])
        assert not terminated
    opened = info["expert_action"].copy()
    opened[5] = 100.0  # the gripper wide open (LeRobot's 0..100), the arm where the expert holds it
    for _ in range(45):
        obs, _, terminated, _, info = env.step(opened)
        assert not terminated and not info["is_success"]
    assert not info["between_jaws"] and env.sim.cube_pose()[0][2] < HELD_Z


def test_cameras_and_render():
    env = KiwiPickEnv(cameras="front,wrist", image_height=48, image_width=64, visualization_height=60)
    try:
        obs, _ = env.reset(seed=0)
        for cam in ("front", "wrist"):
            image = obs["pixels"][cam]
            assert image.shape == (48, 64, 3) and image.dtype == np.uint8 and image.std() > 5
        frame = env.render()
        assert frame.shape == (60, 320, 3) and frame.std() > 5
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown camera"):
        KiwiPickEnv(cameras="top")


def test_lerobot_config_makes_the_registered_env_with_a_kiwi_datasets_features():
    from lerobot.envs import env_to_policy_features
    from lerobot.utils.feature_utils import dataset_to_policy_features

    config = KiwiEnv(cameras="front", observation_height=48, observation_width=64, episode_length=7)
    ground_truth = Mapping().state_only().ground_truth
    mapping = Mapping(cameras={"front": Mapping().cameras["front"]}, ground_truth=ground_truth)
    dataset = dataset_to_policy_features(mapping.with_image_size(48, 64).features())
    assert {k: (f.type, f.shape) for k, f in env_to_policy_features(config).items()} == {
        k: (f.type, f.shape) for k, f in dataset.items()
    }
    env = gym.make(GYM_ID, **config.gym_kwargs)
    try:
        obs, info = env.reset(seed=0)
        steps = 0
        truncated = False
        while not truncated:
            obs, _, _, truncated, _ = env.step(hold(obs))
            steps += 1
        assert steps == 7, "episode_length reaches gymnasium's time limit"
    finally:
        env.close()


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_lerobot_vector_envs_stack_the_outcome_as_booleans(use_async):
    # LeRobot's rollout reads `is_success` from the stacked info of every env, finished or not; a
    # numpy bool made an object array whose unfinished entries were None (lerobot-eval's default
    # vector env then failed with "Could not infer dtype of NoneType").
    config = KiwiEnv(episode_length=5)
    vector = config.create_envs(n_envs=2, use_async_envs=use_async)["kiwi"][0]
    try:
        assert type(vector).__name__ == ("AsyncVectorEnv" if use_async else "SyncVectorEnv")
        obs, _ = vector.reset(seed=[0, 1])
        action = np.stack([hold({k: v[i] for k, v in obs.items()}) for i in range(2)])
        _, _, terminated, truncated, info = vector.step(action)
        assert info["is_success"].dtype == bool and info["collision"].dtype == bool
        assert info["clearance"].dtype == np.float64
        assert not terminated.any() and not truncated.any()
    finally:
        vector.close()


def test_the_expert_does_the_wider_task():
    """The wider task's layouts (the robot turned, the cube off to a side, the obstacle on half)
    are within the expert's reach: the robot starts at the layout's heading and the expert holds
    the cube up without touching the obstacle."""
    env = KiwiPickEnv(layouts="wide", render_mode=None)
    kinds = set()
    for seed in range(910000, 910006):
        obs, info = env.reset(seed=seed)
        assert env.sim.base_pose()[2] == pytest.approx(env.layout.start_yaw, abs=1e-9)
        kinds.add(env.layout.obstacle_xy is None)
        hit = False
        for _ in range(600):
            obs, _, terminated, _, info = env.step(info["expert_action"])
            hit |= info["collision"]
            if terminated:
                break
        assert terminated and info["is_success"] and not hit, f"seed {seed}: {info['expert_phase']}"
    assert kinds == {True, False}, "layouts with and without the obstacle"
    env.close()
    with pytest.raises(ValueError, match="layouts must be one of"):
        KiwiPickEnv(layouts="narrow")
