"""When the expert takes over from the policy: human-gated DAgger with the scripted expert as the
human. As HG-DAgger has it, the human takes control when the state becomes unsafe or heads for
failure and hands it back once it is safe again; a policy that drives differently from the expert
but well (cuts a corner, waits a moment longer) is left alone. Pure: observations in, a verdict out.

Take-over reasons, checked in this order, each as soon as its condition holds (for its time, where
it has one):
- `contact`: any part of the robot touches the obstacle (the sim's contacts);
- `clearance`: the chassis closer than `clearance` m to the obstacle;
- `predicted_contact`: the policy's commanded twist, held for `horizon_s`, would bring it that close;
- `strayed`: the base more than `stray` m from the expert's reference path (start, detour lane
  on the side the policy is on, grasp stand; corners rounded);
- `overshot`: near the grasp stand, the base went past it closer to the cube than the expert goes
  on with a grasp (`within_reach`) for `patience_s`: it is about to push the cube, and every
  second more is a longer way back;
- `failed_grasp`: the jaws shut on nothing near the cube for `patience_s`;
- `lift_stalled` (unless `lift_stall_s` is 0): the cube hangs off the floor below the height a hold counts at and has not
  risen by `lift_rise` for `lift_stall_s`: a lift that stops or sags with the cube in the jaws,
  which a person sees before the cube slips out (and a policy's lift is where its grasps are
  lost: the expert lifting from the policy's own grasps held them);
- `no_progress`: progress (distance made along the path, plus the cube's rise) has not grown by
  `progress_eps` for `stall_s`.
The policy is judged only while its commands are fresh (the caller says): a policy that has no
chunk yet is not taken over for standing still. Hand-back after at least `min_control_s` once the
state is safe: no contact, `2 x clearance` of room now and under the policy's twist, within half
of `stray` of the path, within reach of the cube, jaws not shut on nothing; progress is measured
afresh from then on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiwi_common.task import HELD_HEIGHT, chassis_clearance
from kiwi_description import constants as c
from kiwi_description import kinematics as kin

from .expert import CLAMP_MIN, GRASP_UNDER_WAY, RAISED, WorldState, reference_path, within_reach
from .paths import path_position

REASONS = (
    "contact",
    "clearance",
    "predicted_contact",
    "strayed",
    "overshot",
    "failed_grasp",
    "lift_stalled",
    "no_progress",
)
STALLS = (
    "overshot",
    "failed_grasp",
    "lift_stalled",
    "no_progress",
)  # handed back once the expert made progress
PATIENT = ("overshot", "failed_grasp")  # stalls a policy can undo itself: judged after `patience_s`


@dataclass(frozen=True)
class GateRule:
    clearance: float = 0.03  # m
    horizon_s: float = 0.5  # s of the policy's twist for the predicted clearance
    stray: float = 0.15  # m from the reference path
    stall_s: float = 4.0  # s without progress (the expert's own grasp stands still for about 2 s)
    progress_eps: float = 0.01  # m of progress that counts
    min_control_s: float = 1.0  # s the expert drives at least
    # A stalled policy (no progress, a failed grasp) gets control back once the expert has carried
    # the task this far past the best the policy reached (the cube rising 1 cm counts 0.05): the
    # correction then holds the way out of the stall (the grasp), not one second of it.
    recovery: float = 0.05
    # s a cube off the floor may go without rising (the expert's lift takes it from the floor to
    # the hold height in about 0.3 s; a person reacts in about a quarter of a second); 0: off.
    lift_stall_s: float = 0.5
    lift_rise: float = 0.005  # m of rise that counts
    # s the jaws may stay shut on nothing, or the base past the grasp stand, before the expert
    # takes over: a person watching waits to see whether the policy reopens or backs off itself.
    patience_s: float = 0.5


@dataclass(frozen=True)
class GateObservation:
    """One tick, as the gate sees it (m; inf clearances without an obstacle)."""

    contact: bool
    clearance: float
    predicted_clearance: float
    deviation: float
    overshot: bool
    failed_grasp: bool
    progress: float
    cube_height: float = 0.0  # the cube's centre above its rest (m)


def action_errors(policy_twist, policy_arm, expert_twist, expert_arm) -> tuple[float, float]:
    """(base error in m/s, largest arm joint error in rad) between two actions; the turn rate
    counts as the speed of the chassis rim. A measure for reports, not a reason to take over."""
    dvx, dvy, dwz = (p - e for p, e in zip(policy_twist, expert_twist))
    base = math.sqrt(dvx * dvx + dvy * dvy + (dwz * c.BASE_BODY_RADIUS) ** 2)
    arm = max(abs(p - e) for p, e in zip(policy_arm, expert_arm))
    return base, arm


OFF_FLOOR = 0.015  # m the cube's centre is above its rest: off the floor (not jostled)
GRASP_ZONE = 0.10  # m from the grasp pose: jaws shut on nothing there are a failed grasp
LIFT_WEIGHT = 5.0  # progress per metre the cube rises (the path is about 1.2 m)


def gate_observation(
    state: WorldState, policy_twist: tuple[float, float, float], side: int, contact: bool, rule: GateRule
) -> GateObservation:
    """What the gate needs from the ground truth and the policy's commanded twist."""
    x, y, yaw = state.robot
    vx, vy = kin.body_to_world(policy_twist[0], policy_twist[1], yaw)
    ahead = (x + vx * rule.horizon_s, y + vy * rule.horizon_s)
    path = reference_path(state, side)
    deviation, along = path_position((x, y), path)
    gripper = state.arm[c.ARM_JOINTS.index(c.GRIPPER_JOINT)]
    near_goal = math.hypot(x - path[-1][0], y - path[-1][1]) < GRASP_ZONE
    return GateObservation(
        contact=contact,
        clearance=chassis_clearance((x, y), state.obstacle),
        predicted_clearance=chassis_clearance(ahead, state.obstacle),
        deviation=deviation,
        overshot=near_goal and not within_reach(state, GRASP_UNDER_WAY),
        failed_grasp=near_goal and gripper < CLAMP_MIN and state.cube[2] <= RAISED,
        progress=along + LIFT_WEIGHT * max(0.0, state.cube[2] - c.CUBE_SIZE / 2),
        cube_height=state.cube[2] - c.CUBE_SIZE / 2,
    )


class Gate:
    def __init__(self, rule: GateRule = GateRule()):
        self.rule = rule
        self.reset()

    def reset(self) -> None:
        self.engaged = False
        self.reason = ""  # why the expert drives (the last take-over's reason)
        self.engaged_at = 0.0
        self.best: float | None = None  # best progress since the policy (re)gained control
        self.best_at = 0.0
        self.lift_best: float | None = None  # highest cube since it came off the floor (policy driving)
        self.lift_best_at = 0.0
        self.since: dict[str, float] = {}  # when each `PATIENT` condition began (policy driving)

    def update(self, now: float, seen: GateObservation, judge: bool = True) -> bool:
        """Whether the expert drives after this tick. `judge` False: the policy's commands are not
        fresh (no chunk yet, stopped): nothing is decided and the progress clock waits."""
        r = self.rule
        if self.engaged:
            safe = (
                not seen.contact
                and min(seen.clearance, seen.predicted_clearance) >= 2 * r.clearance
                and seen.deviation <= r.stray / 2
                and not seen.overshot
                and not seen.failed_grasp
            )
            stalled = self.reason in STALLS
            recovered = not stalled or seen.progress >= (self.best or 0.0) + r.recovery
            if safe and recovered and now - self.engaged_at >= r.min_control_s:
                self.engaged = False
                self.best, self.best_at = seen.progress, now
                self.lift_best = None
                self.since.clear()
            return self.engaged
        if not judge:
            self.since.clear()
            if self.best is not None:
                self.best_at = now  # the progress clock does not run while the policy is not driving
            self.lift_best = None
            return False
        if self.best is None or seen.progress > self.best + r.progress_eps:
            self.best, self.best_at = seen.progress, now
        if not OFF_FLOOR < seen.cube_height < HELD_HEIGHT:
            self.lift_best = None
        elif self.lift_best is None or seen.cube_height > self.lift_best + r.lift_rise:
            self.lift_best, self.lift_best_at = seen.cube_height, now
        for name in PATIENT:
            if getattr(seen, name):
                self.since.setdefault(name, now)
            else:
                self.since.pop(name, None)
        reason = self._reason(now, seen)
        if reason:
            self.engaged, self.reason, self.engaged_at = True, reason, now
        return self.engaged

    def _reason(self, now: float, seen: GateObservation) -> str:
        r = self.rule
        if seen.contact:
            return "contact"
        if seen.clearance < r.clearance:
            return "clearance"
        if seen.predicted_clearance < r.clearance:
            return "predicted_contact"
        if seen.deviation > r.stray:
            return "strayed"
        for name in PATIENT:
            if name in self.since and now - self.since[name] >= r.patience_s:
                return name
        if r.lift_stall_s > 0 and self.lift_best is not None and now - self.lift_best_at > r.lift_stall_s:
            return "lift_stalled"
        if now - self.best_at > r.stall_s:
            return "no_progress"
        return ""
