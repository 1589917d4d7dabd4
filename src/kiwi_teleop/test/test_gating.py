"""The HG-DAgger gate: it takes over on failure (contact, too close now or soon, strayed, past the
grasp stand out of reach, a failed grasp, no progress), not on disagreement, never from a policy without fresh commands, and hands
back once it is safe, after a minimum time. Last, it never takes over from the expert itself."""

import math
from dataclasses import replace

import numpy as np
import pytest

from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_driver.sim_backend import SimBackend
from kiwi_teleop.expert import Expert, WorldState
from kiwi_teleop.gating import (
    Gate,
    GateObservation,
    GateRule,
    action_errors,
    gate_observation,
)
from kiwi_teleop.paths import path_position

RULE = GateRule(
    clearance=0.03,
    stray=0.15,
    stall_s=4.0,
    progress_eps=0.01,
    min_control_s=1.0,
    lift_stall_s=0.0,
    patience_s=0.0,
)
SAFE = GateObservation(
    contact=False,
    clearance=1.0,
    predicted_clearance=1.0,
    deviation=0.0,
    overshot=False,
    failed_grasp=False,
    progress=0.0,
)
DT = 1 / 30


def drive(gate, t0, seconds, seen=SAFE, judge=True, growing=True):
    """Ticks of `seconds` from t0 with `seen` (progress growing 0.1 m/s when `growing`)."""
    verdicts = []
    for k in range(round(seconds / DT)):
        progress = seen.progress + (0.1 * k * DT if growing else 0.0)
        verdicts.append(gate.update(t0 + k * DT, replace(seen, progress=progress), judge))
    return verdicts


def test_action_errors_count_turning_at_the_chassis_rim():
    base, arm = action_errors((0.1, 0.0, 1.0), [0.0, 0.2], (0.0, 0.0, 0.0), [0.1, 0.0])
    assert base == pytest.approx(math.hypot(0.1, c.BASE_BODY_RADIUS))
    assert arm == pytest.approx(0.2)


def test_path_position():
    path = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]
    assert path_position((0.5, 0.2), path) == pytest.approx((0.2, 0.5))
    assert path_position((1.3, 0.5), path) == pytest.approx((0.3, 1.5))
    assert path_position((-1.0, 0.0), path) == pytest.approx((1.0, 0.0))


def test_a_safe_policy_that_makes_progress_is_left_alone():
    gate = Gate(RULE)
    assert not any(drive(gate, 0.0, 10.0))


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"contact": True}, "contact"),
        ({"clearance": 0.02}, "clearance"),
        ({"predicted_clearance": 0.01}, "predicted_contact"),
        ({"deviation": 0.2}, "strayed"),
        ({"overshot": True}, "overshot"),
        ({"failed_grasp": True}, "failed_grasp"),
    ],
)
def test_failures_take_over_at_once_with_their_reason(change, reason):
    gate = Gate(RULE)
    drive(gate, 0.0, 1.0)
    assert gate.update(1.0, replace(SAFE, progress=0.2, **change))
    assert gate.reason == reason


@pytest.mark.parametrize("stall", ["failed_grasp", "overshot"])
def test_a_stall_the_policy_can_undo_is_given_the_patience_time(stall):
    gate = Gate(replace(RULE, patience_s=0.5))
    drive(gate, 0.0, 1.0)
    # Jaws shut on nothing for 0.4 s, then reopened (a retry): left alone.
    assert not any(drive(gate, 1.0, 0.4, replace(SAFE, progress=0.2, **{stall: True})))
    assert not any(drive(gate, 1.4, 0.2, replace(SAFE, progress=0.3)))
    # Shut again and kept shut: taken over once it has lasted 0.5 s, not before.
    verdicts = drive(gate, 1.6, 1.0, replace(SAFE, progress=0.4, **{stall: True}))
    assert verdicts.index(True) * DT == pytest.approx(0.5, abs=1.5 * DT)
    assert gate.reason == stall


def test_no_progress_takes_over_after_the_stall_time_only():
    gate = Gate(RULE)
    verdicts = drive(gate, 0.0, 6.0, growing=False)
    first = verdicts.index(True)
    assert first * DT == pytest.approx(RULE.stall_s, abs=2 * DT)
    assert gate.reason == "no_progress"


def test_a_policy_without_fresh_commands_is_not_judged():
    gate = Gate(RULE)
    assert not any(drive(gate, 0.0, 3.0, replace(SAFE, contact=True), judge=False))
    # ... and standing still while it waits for its first chunk does not count as a stall.
    drive(gate, 3.0, 10.0, judge=False, growing=False)
    assert not any(drive(gate, 13.0, 3.0, growing=False))


def test_hand_back_when_safe_and_not_before_the_minimum_time():
    gate = Gate(RULE)
    assert gate.update(0.0, replace(SAFE, clearance=0.01))
    assert all(drive(gate, DT, RULE.min_control_s - 2 * DT)), "the expert drives at least min_control_s"
    assert all(drive(gate, 1.0, 1.0, replace(SAFE, clearance=0.05))), "not clear enough yet (2 x clearance)"
    assert not gate.update(2.0, SAFE)
    # Progress is measured afresh from the hand-back: no instant no-progress take-over.
    assert not any(drive(gate, 2.0 + DT, 3.0, growing=False))


def test_a_stalled_policy_gets_control_back_once_the_expert_has_carried_the_task_on():
    gate = Gate(RULE)
    drive(gate, 0.0, 6.0, replace(SAFE, progress=0.5), growing=False)
    assert gate.engaged and gate.reason == "no_progress"
    # Safe, and past the minimum time, but the expert has not yet got past the stall.
    assert all(drive(gate, 6.0, 2.0, replace(SAFE, progress=0.5 + RULE.recovery / 2), growing=False))
    assert not gate.update(8.0, replace(SAFE, progress=0.5 + RULE.recovery))


def test_gate_observation_foresees_driving_into_the_obstacle():
    state = WorldState((0.2, 0.0, 0.0), (1.0, 0.0, c.CUBE_SIZE / 2), 0.0, (0.5, 0.0), (0.0,) * 6, (0.0,) * 6)
    straight = gate_observation(state, (0.2, 0.0, 0.0), side=1, contact=False, rule=RULE)
    around = gate_observation(state, (0.0, 0.2, 0.0), side=1, contact=False, rule=RULE)
    assert straight.clearance > RULE.clearance > straight.predicted_clearance
    assert around.predicted_clearance > straight.predicted_clearance
    assert straight.deviation > 0.1, "the path goes round the obstacle; straight ahead is off it"


def test_gate_observation_sees_a_base_past_the_stand_out_of_the_arms_reach():
    """The stand is 0.25 m behind the cube; the expert starts a grasp from 3 cm past it and goes on
    with one from 4 cm: further past, the gate takes over."""
    cube = (1.0, 0.0, c.CUBE_SIZE / 2)

    def at(ahead):
        state = WorldState((cube[0] - ahead, 0.0, 0.0), cube, 0.0, (0.5, 0.0), (0.0,) * 6, (0.0,) * 6)
        return gate_observation(state, (0.0, 0.0, 0.0), side=1, contact=False, rule=RULE).overshot

    assert not at(0.25) and not at(0.215), "within reach: grasp from there"
    assert at(0.205)
    assert not at(0.6), "far from the stand the cube is ahead but nothing is overshot"


def test_an_overshoot_is_handed_back_only_once_the_expert_has_carried_the_task_on():
    gate = Gate(RULE)
    assert gate.update(0.0, replace(SAFE, overshot=True, progress=1.0))
    assert all(drive(gate, DT, 2.0, replace(SAFE, progress=1.0), growing=False)), (
        "back in reach is not enough"
    )
    assert not gate.update(2.0, replace(SAFE, progress=1.0 + RULE.recovery))


def test_the_gate_never_takes_over_from_the_expert():
    sim = SimBackend()
    step = c.ARM_MAX_VELOCITY / c.CONTROL_RATE_HZ
    try:
        for seed, obstacle in [(0, True), (1, True), (2, True), (3, False)]:
            sim.reset(seed, obstacle)
            expert, gate = Expert(side=1 if seed % 2 else -1), Gate(RULE)
            for k in range(600):
                state = WorldState.from_sim(sim)
                action = expert.act(state)
                seen = gate_observation(state, action.twist, expert.side, sim.obstacle_contact(), RULE)
                assert not gate.update(k * DT, seen), f"seed {seed}: took over ({gate.reason})"
                if action.phase == "done":
                    break
                present = sim.arm_positions()
                sim.write(
                    present + np.clip(np.array(action.arm) - present, -step, step),
                    kin.clamp_wheel_speeds(kin.body_to_wheel_speeds(*action.twist)),
                )
            assert action.phase == "done"
    finally:
        sim.close()


def lift(gate, t0, heights, rule_progress=0.5):
    """One tick per cube height (m above its rest), the policy driving; the verdicts."""
    return [
        gate.update(t0 + k * DT, replace(SAFE, progress=rule_progress + 5 * h, cube_height=h))
        for k, h in enumerate(heights)
    ]


def test_a_lift_that_stalls_below_the_hold_height_is_taken_over_unless_the_rule_is_off():
    stall = [0.01, 0.02, 0.03, 0.04] + [0.042] * 20  # rises, then hangs at 4.2 cm
    gate = Gate(replace(RULE, lift_stall_s=0.25))
    verdicts = lift(gate, 0.0, stall)
    first = verdicts.index(True)
    assert gate.reason == "lift_stalled"
    assert (first - 3) * DT == pytest.approx(0.25, abs=2 * DT), "0.25 s after its last rise"
    assert not any(lift(Gate(replace(RULE, lift_stall_s=0.0)), 0.0, stall)), "0: off"


def test_a_steady_lift_a_held_cube_and_a_cube_on_the_floor_are_left_alone():
    gate = Gate(replace(RULE, lift_stall_s=0.25))
    steady = [0.004 * k for k in range(20)] + [0.08] * 40  # 12 cm/s up, then held above the hold height
    assert not any(lift(gate, 0.0, steady))
    assert not any(lift(Gate(replace(RULE, lift_stall_s=0.25)), 0.0, [0.005] * 40)), "pushed, not lifted"


def test_a_lift_stall_is_handed_back_once_the_expert_has_lifted_the_cube():
    gate = Gate(replace(RULE, lift_stall_s=0.25))
    lift(gate, 0.0, [0.02] * 12)
    assert gate.engaged and gate.reason == "lift_stalled"
    assert all(lift(gate, 12 * DT, [0.02] * 40)), "still hanging: the expert keeps it"
    assert not lift(gate, 2.0, [0.03])[-1], "risen 1 cm (the recovery), past the minimum time"
