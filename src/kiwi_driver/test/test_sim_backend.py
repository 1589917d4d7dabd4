import math

import numpy as np
import pytest

from kiwi_common.task import sample_layout
from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_driver.sim_backend import SimBackend


@pytest.fixture(scope="module")
def sim():
    s = SimBackend()
    yield s
    s.close()


def run(sim, seconds, wheels, arm=None):
    for i in range(round(seconds / sim.control_dt)):
        sim.write(arm if i == 0 else None, wheels)


def test_control_period_is_whole_substeps(sim):
    assert sim.substeps * sim.model.opt.timestep == pytest.approx(1 / 30)


def test_same_seed_same_trajectory(sim):
    states = []
    for _ in range(2):
        sim.reset(7, obstacle=True)
        run(sim, 1.0, kin.body_to_wheel_speeds(0.1, 0.05, 0.3), np.array([0.2, 0.3, 0.1, 0.4, 0.0, 1.0]))
        states.append(sim.data.qpos.copy())
    assert np.array_equal(states[0], states[1])
    sim.reset(8, obstacle=True)
    assert not np.array_equal(sim.cube_pose()[0], states[0][-7:-4])


def test_reset_keeps_sim_time_going(sim):
    sim.reset(1, obstacle=False)
    run(sim, 0.5, kin.body_to_wheel_speeds(0.0, 0.0, 0.0))
    before = sim.time
    sim.reset(2, obstacle=False)
    assert sim.time == pytest.approx(before)  # /clock never jumps back
    assert sim.base_pose() == (0.0, 0.0, 0.0)


def test_forward_0p1_for_2s_moves_about_0p2m(sim):
    sim.reset(0, obstacle=False)
    run(sim, 2.0, kin.body_to_wheel_speeds(0.1, 0.0, 0.0))
    x, y, yaw = sim.base_pose()
    assert x == pytest.approx(0.2, abs=0.01) and abs(y) < 1e-3 and abs(yaw) < 1e-3


def test_turn_90_degps_for_1s(sim):
    sim.reset(0, obstacle=False)
    run(sim, 1.0, kin.body_to_wheel_speeds(0.0, 0.0, math.radians(90)))
    assert math.degrees(sim.base_pose()[2]) == pytest.approx(90.0, abs=5.0)


def test_wheel_states_match_base_motion(sim):
    sim.reset(0, obstacle=False)
    run(sim, 1.0, kin.body_to_wheel_speeds(0.05, -0.08, 0.4))
    assert kin.wheel_speeds_to_body(sim.wheel_velocities()) == pytest.approx(sim.base_twist(), abs=2e-3)


def test_arm_tracks_targets(sim):
    sim.reset(0, obstacle=False)
    target = np.array([0.3, 0.2, 0.2, 0.2, 0.5, 1.0])
    run(sim, 1.0, np.zeros(3), target)
    assert sim.arm_positions() == pytest.approx(target, abs=0.02)


def test_layout_puts_obstacle_between_robot_and_cube():
    for seed in range(20):
        layout = sample_layout(seed, obstacle=True)
        assert 0 < layout.obstacle_xy[0] < layout.cube_xy[0]
        assert abs(layout.obstacle_xy[1]) < c.OBSTACLE_SIZE[1] / 2
    assert sample_layout(3, obstacle=False).obstacle_xy is None


def test_cameras_render_their_sizes(sim):
    sim.reset(0, obstacle=False)
    front = sim.render("front", 64, 48)
    wrist = sim.render("wrist", 48, 64)
    assert front.shape == (48, 64, 3) and wrist.shape == (64, 48, 3)
    assert front.dtype == np.uint8
    # The front camera sees the floor and the red cube: not a blank image.
    assert front.std() > 5
    red = (front[..., 0] > 150) & (front[..., 1] < 80) & (front[..., 2] < 80)
    assert red.any()


def test_obstacle_contact_covers_the_whole_robot(sim):
    sim.reset(5000, obstacle=True)
    reach_ahead = np.array([0.0, 0.33, 0.24, 1.0, 0.0, 1.05])  # the expert's ready pose, 0.3 m ahead
    run(sim, 2.0, np.zeros(3), reach_ahead)
    assert not sim.obstacle_contact()
    straight = kin.body_to_wheel_speeds(0.2, 0.0, 0.0)
    touched_at = next((k for k in range(90) if (sim.write(None, straight), sim.obstacle_contact())[1]), None)
    assert touched_at is not None, "driving straight at the obstacle touches it"
    front_gap = sim.obstacle_position()[0] - c.OBSTACLE_SIZE[0] / 2 - sim.base_pose()[0] - c.BASE_BODY_RADIUS
    assert front_gap > 0.05, "the arm, ahead of the chassis, touches first"
    sim.reset(5000, obstacle=False)
    run(sim, 3.0, straight)
    assert not sim.obstacle_contact()
