"""The scripted expert: its arm IK against MuJoCo's kinematics, and whole episodes in the sim."""

import math
from dataclasses import replace

import mujoco
import numpy as np
import pytest

from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_description.mjcf import BASE_JOINTS
from kiwi_driver.sim_backend import SimBackend
from kiwi_teleop.expert import GRASP_DEPTH, GRASP_X, Expert, WorldState, planar_arm_ik, quat_yaw


@pytest.fixture(scope="module")
def sim():
    backend = SimBackend()
    yield backend
    backend.close()


def test_ik_puts_the_palm_where_asked(sim):
    sim.reset(0, False)
    lift, elbow, wrist = planar_arm_ik(0.20, GRASP_DEPTH)
    qpos = sim.data.qpos
    for name, value in zip(c.ARM_JOINTS, (0.0, lift, elbow, wrist, 0.0, 0.0)):
        qpos[sim.model.joint(name).qposadr[0]] = value
    mujoco.mj_forward(sim.model, sim.data)
    palm = sim.data.body("gripper_link")
    expected = (c.ARM_MOUNT_XYZ[0] + 0.20, 0.0, c.CUBE_SIZE / 2 + GRASP_DEPTH)
    np.testing.assert_allclose(palm.xpos, expected, atol=1e-3)
    # Pointing straight down: the palm's x axis (along the jaws) is -z in the world.
    np.testing.assert_allclose(palm.xmat.reshape(3, 3)[:, 0], (0.0, 0.0, -1.0), atol=1e-6)
    with pytest.raises(ValueError, match="out of the arm's reach"):
        planar_arm_ik(0.5, GRASP_DEPTH)


def drive_tick(sim, action) -> None:
    """One tick of an expert action on the sim, its arm targets rate-limited as the driver clamps
    them."""
    present = sim.arm_positions()
    step = c.ARM_MAX_VELOCITY / c.CONTROL_RATE_HZ
    sim.write(
        present + np.clip(np.array(action.arm) - present, -step, step),
        kin.clamp_wheel_speeds(kin.body_to_wheel_speeds(*action.twist)),
    )


def run_episode(sim, seed, obstacle, side, max_ticks=600, twists=None):
    sim.reset(seed, obstacle)
    expert, lateral = Expert(side), []
    for _ in range(max_ticks):
        action = expert.act(WorldState.from_sim(sim))
        if action.phase == "done":
            return True, lateral
        if twists is not None:
            twists.append(action.twist)
        drive_tick(sim, action)
        lateral.append(sim.base_pose()[1])
    return False, lateral


@pytest.mark.parametrize("seed, obstacle, side", [(2, False, 1), (1, True, 1), (1, True, -1)])
def test_expert_picks_up_the_cube(sim, seed, obstacle, side):
    done, lateral = run_episode(sim, seed, obstacle, side)
    assert done, "the expert did not lift the cube within 20 s"
    assert sim.cube_pose()[0][2] > 0.045
    if obstacle:  # it went round on the side it was given
        extreme = max(lateral) if side > 0 else min(lateral)
        assert side * extreme > 0.25, f"passed at y={extreme:.2f}"


def test_the_expert_drives_smoothly_enough_to_imitate(sim):
    """No command jumps (the old waypoint switches jumped 0.1 m/s in a tick): the base command
    changes by at most 0.03 m/s per tick once under way, and the base never turns (holonomic)."""
    for seed, side in [(1, 1), (3, -1)]:
        twists = []
        done, _ = run_episode(sim, seed, True, side, twists=twists)
        assert done
        steps = [max(abs(a - b) for a, b in zip(p[:2], q[:2])) for p, q in zip(twists, twists[1:])]
        assert max(steps) < 0.03, f"seed {seed}: the command jumped {max(steps):.3f} m/s in one tick"
        assert abs(sim.base_pose()[2]) < math.radians(8)


def test_expert_relabels_a_state_beside_the_obstacle_by_the_side_it_is_on(sim):
    sim.reset(1, True)
    obstacle = sim.obstacle_position()
    state = WorldState.from_sim(sim)
    beside = WorldState(
        (obstacle[0] - 0.2, obstacle[1] - 0.3, 0.0),
        state.cube,
        state.cube_yaw,
        state.obstacle,
        state.arm,
        state.arm_velocity,
    )
    vx, vy, _ = Expert(side=+1).act(beside).twist
    assert vx > 0 and vy <= 0.05, "a robot already right of the obstacle keeps right"


def test_quat_yaw():
    assert quat_yaw((math.cos(0.3), 0.0, 0.0, math.sin(0.3))) == pytest.approx(0.6)


def test_oracle_follows_the_detour_side_the_learner_heads_for():
    from kiwi_teleop.expert import side_agreeing_with

    state = WorldState((0.0, 0.0, 0.0), (1.0, 0.0, 0.015), 0.0, (0.5, 0.0), (0.0,) * 6, (0.0,) * 6)
    assert side_agreeing_with(state, (0.1, 0.15, 0.0), default_side=-1) == 1, "heading left: left"
    assert side_agreeing_with(state, (0.1, -0.15, 0.0), default_side=1) == -1
    assert side_agreeing_with(replace(state, obstacle=None), (0.1, 0.15, 0.0), default_side=-1) == -1


def test_the_expert_is_markov_its_action_depends_on_the_present_state_only(sim):
    """Along a whole episode, a fresh expert (no history at all) given the visited state does
    exactly what the one that drove the episode did."""
    sim.reset(4, True)
    driving, phases = Expert(side=1), []
    for _ in range(600):
        state = WorldState.from_sim(sim)
        action = driving.act(state)
        assert Expert(side=1).act(state) == action, f"history changed the action in phase {action.phase}"
        phases.append(action.phase)
        if action.phase == "done":
            break
        drive_tick(sim, action)
    assert phases[-1] == "done"
    assert {"detour", "approach", "lower", "close", "lift"} <= set(phases)


def test_a_missed_grasp_is_retried(sim):
    """The cube slides away as the jaws are about to touch it: the expert goes back (re-aligning
    the base where it must), opens, comes down again and lifts the cube."""
    sim.reset(2, False)
    expert, phases, moved_at = Expert(side=1), [], None
    for _ in range(900):
        action = expert.act(WorldState.from_sim(sim))
        phases.append(action.phase)
        if action.phase == "done":
            break
        if action.phase == "close" and sim.arm_positions()[5] < math.radians(12) and moved_at is None:
            q = sim.model.joint("cube_joint").qposadr[0]
            sim.data.qpos[q + 1] += 0.05  # 5 cm to the left of the jaws
            mujoco.mj_forward(sim.model, sim.data)
            moved_at = len(phases)
        drive_tick(sim, action)
    assert moved_at is not None and phases[-1] == "done"
    assert "lower" in phases[moved_at:], "it came down again"


def test_jaws_shut_beside_the_cube_are_retried_in_one_clean_sequence(sim):
    """Low at the stand with the jaws shut on nothing (as a policy leaves them): rise shut to the
    pre-grasp height, open there, come down, close, lift. A relabelled miss teaches that one
    sequence, not labels flipping between rising shut and coming down open (which also passed
    the jaws through the holding angles low down: a "lift" of nothing)."""
    from kiwi_teleop.expert import GRIPPER_CLOSED, arm_pose

    sim.reset(2, False)
    cube = sim.cube_pose()[0]
    sim.data.qpos[[sim.model.joint(n).qposadr[0] for n in BASE_JOINTS[:2]]] = (cube[0] - GRASP_X, cube[1])
    beside = arm_pose((GRASP_X, 0.055), 0.0, GRASP_DEPTH, GRIPPER_CLOSED)
    sim.data.qpos[[sim.model.joint(n).qposadr[0] for n in c.ARM_JOINTS]] = beside
    mujoco.mj_forward(sim.model, sim.data)
    phases = expert_from_here(sim, 600)
    sequence = [p for k, p in enumerate(phases) if k == 0 or p != phases[k - 1]]
    grasp = [p for p in sequence if p != "approach"]  # the base may re-align on the way
    assert grasp == ["retry", "open", "lower", "close", "lift", "done"], sequence


def test_jaws_shut_on_nothing_rise_shut_then_open():
    """Low with the jaws closed past the cube: rise without opening (opening down there would pass
    through the 'closed on the cube' angles); high with them shut: open before lowering."""
    from kiwi_teleop.expert import (
        GRIPPER_CLOSED,
        GRIPPER_OPEN,
        PREGRASP_DEPTH,
        arm_pose,
        grasp_action,
    )

    cube_b = (GRASP_X, 0.0)
    low = arm_pose(cube_b, 0.0, GRASP_DEPTH, GRIPPER_CLOSED)
    state = WorldState((0.0, 0.0, 0.0), (GRASP_X, 0.0, c.CUBE_SIZE / 2), 0.0, None, low, (0.0,) * 6)
    drive = Expert().act(state)  # whatever driving would do: must not be used when aligned
    retry = grasp_action(state, drive, aligned=True)
    assert retry.phase == "retry" and retry.arm[5] == GRIPPER_CLOSED
    assert retry.arm[1] == pytest.approx(arm_pose(cube_b, 0.0, PREGRASP_DEPTH, GRIPPER_CLOSED)[1])
    high = arm_pose(cube_b, 0.0, PREGRASP_DEPTH, GRIPPER_CLOSED)
    opening = grasp_action(replace(state, arm=high), drive, aligned=True)
    assert opening.phase == "open" and opening.arm[5] == GRIPPER_OPEN
    assert grasp_action(state, drive, aligned=False) == drive


def expert_from_here(sim, max_ticks: int, twists: list | None = None) -> list[str]:
    """The expert from the sim's present state until it is done (or max_ticks): its phases (and
    its twists into `twists`)."""
    expert, phases = Expert(side=1), []
    for _ in range(max_ticks):
        action = expert.act(WorldState.from_sim(sim))
        phases.append(action.phase)
        if twists is not None:
            twists.append(action.twist)
        if action.phase == "done":
            break
        drive_tick(sim, action)
    return phases


@pytest.mark.parametrize("past", [0.015, 0.028])
def test_a_base_past_the_stand_grasps_from_there_without_backing_up(sim, past):
    """A policy that drove `past` m beyond the grasp stand (towards the cube) is corrected by a
    grasp from where it stands, never by reversing towards the obstacle; further past than the arm
    reaches down, the expert backs up."""
    from kiwi_teleop.expert import REACH_PAST

    sim.reset(3, True)
    cube = sim.cube_pose()[0]
    base = [sim.model.joint(name).qposadr[0] for name in BASE_JOINTS[:2]]
    sim.data.qpos[base] = (cube[0] - GRASP_X + past, cube[1])
    mujoco.mj_forward(sim.model, sim.data)
    start = WorldState.from_sim(sim)
    too_far = replace(start, robot=(cube[0] - GRASP_X + REACH_PAST + 0.02, cube[1], 0.0))
    assert Expert(side=1).act(too_far).twist[0] < 0.0, "out of reach: back to the stand"
    twists = []
    phases = expert_from_here(sim, 400, twists)
    assert min(twist[0] for twist in twists) >= 0.0, "backed up"
    assert phases[0] == "open" and phases[-1] == "done", phases[:3]


def test_a_grasp_under_way_goes_on_a_little_past_where_one_starts():
    """Between the edges (3.5 cm past the stand): with the arm high and the jaws at their carrying
    angle the expert backs up to where a grasp starts; with the jaws already opened it goes on
    grasping from there (no flip between the two at the edge)."""
    from kiwi_teleop.expert import GRIPPER_CARRY, GRIPPER_OPEN, REACH_PAST, aim_pose

    cube = (1.0, 0.0, c.CUBE_SIZE / 2)
    robot = (cube[0] - GRASP_X + REACH_PAST + 0.005, 0.0, 0.0)
    state = WorldState(robot, cube, 0.0, (0.5, 0.0), (0.0,) * 6, (0.0,) * 6)
    carrying = replace(state, arm=aim_pose(state, 0.12, GRIPPER_CARRY))
    opened = replace(state, arm=aim_pose(state, 0.12, GRIPPER_OPEN))
    backing = Expert(side=1).act(carrying)
    assert backing.phase == "approach" and backing.twist[0] < 0.0
    going_on = Expert(side=1).act(opened)
    assert going_on.phase in ("open", "lower") and going_on.twist[0] >= 0.0
