"""The scripted expert for the sim: drive to the cube (around the obstacle, left or right), grasp it
from above and lift it. Pure functions of the ground-truth state, so the same code drives the
demonstrations and answers "what would you do here?" for any state (the DAgger oracle).

Made to be imitated: the base never turns (it is holonomic) and follows a rounded reference path
by pure pursuit, so its command changes smoothly with the state (no jumps at waypoints); the arm
rides closed and aimed towards the cube, so it arrives over it. The grasp is decided from the
state too (arm height and jaw angle: open, lower, close, lift; a grasp closed on nothing is
retried), and on what a policy sees where it can (the lift starts on the jaw angle, not its
speed), so the expert is Markov: its label for a state a policy reached is the action it takes
there in its own demonstrations. It grasps from wherever the base stands within the arm's reach
of the cube, not only from the one stand it drives for. The only memory is the detour side,
which a caller draws at random per episode; for a state already beside the obstacle the side it is
on wins, so a relabelled state keeps its own mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiwi_common.task import START, is_lifted
from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_description.kinematics import quat_yaw

from .paths import path_length, path_position, point_along, rounded

# Shoulder-lift axis in the arm's vertical plane (forward from the pan axis, up from the floor).
SHOULDER_XZ = (c.SHOULDER_FORWARD, c.BASE_HEIGHT + c.SHOULDER_HEIGHT)
GRASP_DEPTH = 0.083  # palm above the cube centre when the jaws close: tips 5 mm above the floor, m
PREGRASP_DEPTH = 0.12
LIFT_DEPTH = 0.16
GRIPPER_OPEN = math.radians(60.0)
GRIPPER_CLOSED = c.ARM_LIMITS[c.GRIPPER_JOINT].lower
GRIPPER_CARRY = math.radians(10.0)  # while driving: open jaws would swing out at the obstacle
GRASP_X = 0.25  # where the cube should end up in the base frame before grasping, m

# Driving.
MAX_SPEED = 0.2  # m/s
MAX_TURN = math.radians(60.0)  # rad/s
POSITION_GAIN = 1.5
YAW_GAIN = 2.0
ALIGNED_POSITION = 0.03  # m: the arm's reach absorbs the rest
# A base that went past the stand (closer to the cube) by up to this grasps from where it is:
# backing up would head for the obstacle behind the stand, and a person teaching would not back up
# either. A grasp under way goes on REACH_SLACK closer still, so a base that drifts a few mm at the
# edge does not flip the labels between driving and grasping. In the sim the expert lifts the cube
# from 4 cm past (6 of 6 layouts), not from 5 cm.
REACH_PAST = 0.03  # m
REACH_SLACK = 0.01  # m
ALIGNED_YAW = math.radians(8.0)
LOOKAHEAD = 0.15  # m along the path: the pursuit point (POSITION_GAIN x this > MAX_SPEED: full speed)
# Detour: robot (chassis radius 0.14 m) passes the obstacle's side in a lane this far from its
# centre line, entered this far before the obstacle's centre.
DETOUR_OFFSET = c.OBSTACLE_SIZE[1] / 2 + c.BASE_BODY_RADIUS + 0.08
DETOUR_BEFORE = 0.25
CORNER_RADIUS = 0.12  # m: the path's corners are rounded over this much of each leg


@dataclass(frozen=True)
class WorldState:
    """Ground truth the expert acts on (world frame, metres and radians)."""

    robot: tuple[float, float, float]  # x, y, yaw
    cube: tuple[float, float, float]  # x, y, z
    cube_yaw: float
    obstacle: tuple[float, float] | None
    arm: tuple[float, ...]  # present arm positions, ARM_JOINTS order
    arm_velocity: tuple[float, ...]  # their velocities (rad/s): jaws that stopped on the cube

    @classmethod
    def from_sim(cls, sim) -> WorldState:
        """The state of a kiwi_driver SimBackend (its obstacle is parked under the floor when absent)."""
        pos, quat = sim.cube_pose()
        obstacle = sim.obstacle_position()
        return cls(
            sim.base_pose(),
            tuple(pos),
            quat_yaw(quat),
            tuple(obstacle[:2]) if obstacle[2] > 0 else None,
            tuple(sim.arm_positions()),
            tuple(sim.arm_velocities()),
        )


@dataclass(frozen=True)
class ExpertAction:
    twist: tuple[float, float, float]  # body frame: m/s, m/s, rad/s
    arm: tuple[float, ...]  # targets, ARM_JOINTS order (rad)
    phase: str


def planar_arm_ik(reach: float, depth: float, z: float = c.CUBE_SIZE / 2) -> tuple[float, float, float]:
    """(lift, elbow, wrist_flex) that put the palm `depth` above the point `reach` ahead of the pan
    axis at height z, gripper pointing straight down (elbow up)."""
    wx, wz = reach - SHOULDER_XZ[0], z + depth + c.WRIST_LENGTH - SHOULDER_XZ[1]
    r = math.hypot(wx, wz)
    l1, l2 = c.UPPER_ARM_LENGTH, c.FOREARM_LENGTH
    if not abs(l1 - l2) < r < l1 + l2:
        raise ValueError(f"point {reach:.3f} m ahead, {depth:.3f} m up is out of the arm's reach")
    elbow_interior = math.acos((l1 * l1 + l2 * l2 - r * r) / (2 * l1 * l2))
    shoulder_offset = math.acos((l1 * l1 + r * r - l2 * l2) / (2 * l1 * r))
    lift = math.atan2(wx, wz) - shoulder_offset  # from vertical, forward positive
    elbow = (math.pi - elbow_interior) - math.pi / 2  # the forearm is horizontal at elbow 0
    wrist = math.pi / 2 - lift - elbow  # the three pitches add up to pointing down
    return lift, elbow, wrist


def arm_pose(
    cube_in_base: tuple[float, float], cube_yaw_in_base: float, depth: float, gripper: float
) -> tuple[float, ...]:
    """Arm targets over the cube: pan towards it, wrist roll matching its faces (mod 90 deg)."""
    mx, my = cube_in_base[0] - c.ARM_MOUNT_XYZ[0], cube_in_base[1] - c.ARM_MOUNT_XYZ[1]
    pan = math.atan2(my, mx)
    reach = min(max(math.hypot(mx, my), 0.12), 0.25)  # within reach at every depth used
    lift, elbow, wrist = planar_arm_ik(reach, depth)
    roll = (cube_yaw_in_base - pan + math.pi / 4) % (math.pi / 2) - math.pi / 4
    targets = (pan, lift, elbow, wrist, roll, gripper)
    return tuple(c.ARM_LIMITS[name].clamp(v) for name, v in zip(c.ARM_JOINTS, targets))


def detour_side(state: WorldState, default_side: int) -> int:
    """+1 passes the obstacle on the left (+y), -1 on the right; a robot already off to one side
    (by more than half the obstacle's width) keeps that side. From the start either side may be
    asked on every layout: the obstacle is at most 7 cm off the robot's line."""
    if state.obstacle is None:
        return default_side
    offset = state.robot[1] - state.obstacle[1]
    return (1 if offset > 0 else -1) if abs(offset) > c.OBSTACLE_SIZE[1] / 2 else default_side


def grasp_stand(state: WorldState) -> tuple[float, float, float]:
    """Where the base stands for the grasp (x, y, yaw in the world): GRASP_X behind the cube,
    facing +x as it started (the base is holonomic: it never needs to turn)."""
    return state.cube[0] - GRASP_X, state.cube[1], 0.0


def reference_path(state: WorldState, side: int) -> list[tuple[float, float]]:
    """The expert's way to the grasp stand as a polyline: from the start, out to the detour lane
    on `side` (or the side the robot is already on), along it past the obstacle to level with the
    stand, then sideways onto it; its corners rounded."""
    gx, gy, _ = grasp_stand(state)
    points = [START[:2]]
    if state.obstacle is not None:
        ox, oy = state.obstacle
        lane = oy + detour_side(state, side) * DETOUR_OFFSET
        points += [(ox - DETOUR_BEFORE, lane), (gx, lane)]
    return rounded([*points, (gx, gy)], CORNER_RADIUS)


def drive_towards(
    robot: tuple[float, float, float], goal: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Proportional holonomic controller, saturated: body-frame twist towards a world pose."""
    x, y, yaw = robot
    ex, ey = goal[0] - x, goal[1] - y
    vx, vy = kin.world_to_body(POSITION_GAIN * ex, POSITION_GAIN * ey, yaw)
    speed = math.hypot(vx, vy)
    if speed > MAX_SPEED:
        vx, vy = vx * MAX_SPEED / speed, vy * MAX_SPEED / speed
    wz = float(np.clip(YAW_GAIN * kin.wrap_angle(goal[2] - yaw), -MAX_TURN, MAX_TURN))
    return vx, vy, wz


def _in_base(state: WorldState) -> tuple[tuple[float, float], float]:
    rx, ry, ryaw = state.robot
    cube_b = kin.world_to_body(state.cube[0] - rx, state.cube[1] - ry, ryaw)
    return cube_b, kin.wrap_angle(state.cube_yaw - ryaw)


def drive_action(state: WorldState, side: int) -> tuple[ExpertAction, bool]:
    """Driving towards the grasp stand along the reference path (pure pursuit: towards the point
    LOOKAHEAD beyond the nearest one, so the command changes smoothly with the state and corners
    are rounded); also whether the base is where it grasps from (`at_grasp_stand`). "detour"
    until the nearest point is on the last leg, "approach" there, where a base past the stand but
    within reach only moves sideways or on."""
    rx, ry, ryaw = state.robot
    path = reference_path(state, side)
    _, along = path_position((rx, ry), path)
    carrot = point_along(path, along + LOOKAHEAD)
    gyaw = grasp_stand(state)[2]
    phase = "approach" if along >= path_length(path[:-1]) else "detour"
    twist = drive_towards(state.robot, (*carrot, gyaw))
    if phase == "approach" and within_reach(state, 1.0):
        twist = never_back(twist)  # sideways or on while in reach
    drive = ExpertAction(twist, aim_pose(state, PREGRASP_DEPTH, GRIPPER_CARRY), phase)
    return drive, at_grasp_stand(state, drive, 1.0)


def nearest_grasp(factor: float) -> float:
    """How close ahead of the base the cube may be for the arm to grasp it: GRASP_X - REACH_PAST
    to start a grasp (`factor` 1), REACH_SLACK less per factor above 1 for one under way (m)."""
    return GRASP_X - REACH_PAST - (factor - 1.0) * REACH_SLACK


def within_reach(state: WorldState, factor: float) -> bool:
    """The cube no closer ahead of the base than `nearest_grasp(factor)`."""
    return _in_base(state)[0][0] >= nearest_grasp(factor)


def never_back(twist: tuple[float, float, float]) -> tuple[float, float, float]:
    """`twist` without any backward speed (a base past the stand, in reach: backing heads for the
    obstacle behind it)."""
    return (max(twist[0], 0.0), *twist[1:])


# While the base drives the arm is held open above where the cube will be: turned towards it by at
# most AIM_PAN and reaching no further than AIM_REACH, so it never sweeps out towards the obstacle
# and is already over the cube (pan and roll) when the base arrives.
AIM_PAN = math.radians(20.0)
AIM_REACH = GRASP_X - c.ARM_MOUNT_XYZ[0]
AIMED = math.radians(3.0)  # pan and roll this close to the aim: lower (the reach comes on the way)


def aim_pose(state: WorldState, depth: float, gripper: float) -> tuple[float, ...]:
    """Arm targets `depth` above the cube, or towards it within AIM_PAN and AIM_REACH."""
    cube_b, cube_yaw_b = _in_base(state)
    mx, my = cube_b[0] - c.ARM_MOUNT_XYZ[0], cube_b[1] - c.ARM_MOUNT_XYZ[1]
    pan = float(np.clip(math.atan2(my, mx), -AIM_PAN, AIM_PAN))
    reach = min(math.hypot(mx, my), AIM_REACH)
    point = (c.ARM_MOUNT_XYZ[0] + reach * math.cos(pan), c.ARM_MOUNT_XYZ[1] + reach * math.sin(pan))
    return arm_pose(point, cube_yaw_b, depth, gripper)


def side_agreeing_with(state: WorldState, twist: tuple[float, float, float], default_side: int) -> int:
    """The detour side whose driving command is closer to `twist` (a learner's command): an oracle
    for a bimodal task follows the mode the learner chose instead of correcting it into the other.
    Without an obstacle, the default."""
    if state.obstacle is None:
        return default_side

    def distance(side: int) -> float:
        action, _ = drive_action(state, side)
        return sum((a - b) ** 2 for a, b in zip(action.twist, twist))

    return min((default_side, -default_side), key=distance)


# The grasp, decided from the arm's present state (no timers): "low" is the arm within LOW_TOLERANCE
# of the grasp depth's shoulder angle; the jaw angle and speed say open, closing, stopped on the
# cube (closed on it, squeezing), or shut on nothing.
LOW_TOLERANCE = math.radians(8.0)
OPEN_READY = math.radians(50.0)  # jaws open enough to lower over the cube
# Jaws that stop between these angles hold the cube (on its faces near 0 deg, measured -0.7 .. -0.3;
# wider when it sits turned between them); shut on nothing they reach -10 deg.
CLAMP_MIN, CLAMP_MAX = math.radians(-5.0), math.radians(20.0)
STALLED = math.radians(15.0)  # rad/s: jaws slower than this have stopped (closing: about 75)
# Jaws this far closed or more (and not shut on nothing) are on the cube's faces, or a tick from
# them: the lift starts on the jaw angle alone, which a policy sees (it does not see jaw speed).
ON_FACES = math.radians(3.0)
RAISED = c.CUBE_SIZE / 2 + 0.005  # cube centre this high: off the floor
# The base must be this close to the grasp pose to start a grasp (or past it, within REACH_PAST);
# a grasp under way (jaws opened past the carrying angle, or the arm below the pre-grasp height)
# goes on within twice that (no flapping at the boundary).
GRASP_UNDER_WAY = 2.0
GRASP_STARTED = GRIPPER_CARRY + math.radians(10.0)


def grasp_action(state: WorldState, drive: ExpertAction, aligned: bool) -> ExpertAction:
    """The expert's action from the present state alone: lift a cube the jaws hold; drive until the
    base is at the grasp pose; there, open high, lower, close, lift; shut on nothing (a missed
    grasp), rise with the jaws shut, then open and try again. While the arm works the base keeps
    correcting towards the grasp pose (small: it is within a few cm), so it does not drift off,
    but never backs up: a base past the stand grasps from where it is."""
    # Correcting sideways or on towards the stand, never backing under a grasp (past the stand).
    still = never_back(drive.twist) if drive.phase == "approach" else (0.0, 0.0, 0.0)
    cube_b, cube_yaw_b = _in_base(state)
    jaw = c.ARM_JOINTS.index(c.GRIPPER_JOINT)
    gripper = state.arm[jaw]
    grasp_pose = arm_pose(cube_b, cube_yaw_b, GRASP_DEPTH, GRIPPER_OPEN)
    low = abs(state.arm[1] - grasp_pose[1]) < LOW_TOLERANCE
    stopped_on_cube = CLAMP_MIN <= gripper <= CLAMP_MAX and (
        gripper <= ON_FACES or abs(state.arm_velocity[jaw]) < STALLED
    )
    if stopped_on_cube and (low or state.cube[2] > RAISED):
        phase = "done" if is_lifted(state.cube[2]) else "lift"
        return ExpertAction(still, arm_pose(cube_b, cube_yaw_b, LIFT_DEPTH, GRIPPER_CLOSED), phase)
    pregrasp_lift = arm_pose(cube_b, cube_yaw_b, PREGRASP_DEPTH, GRIPPER_OPEN)[1]
    under_way = state.arm[1] > pregrasp_lift + math.radians(1.0)  # shoulder forward: arm lowered
    started = under_way or gripper > GRASP_STARTED
    if not (aligned or (started and at_grasp_stand(state, drive, GRASP_UNDER_WAY))):
        return drive
    if gripper < CLAMP_MIN and (low or under_way):
        # Shut on nothing: rise with the jaws shut all the way to the pre-grasp height (opening
        # down here would pass the holding angles, and coming down before they are open would
        # shut them on nothing again); up there they open and the arm comes down once more.
        return ExpertAction(still, arm_pose(cube_b, cube_yaw_b, PREGRASP_DEPTH, GRIPPER_CLOSED), "retry")
    if not low:
        aim = aim_pose(state, PREGRASP_DEPTH, GRIPPER_OPEN)
        aimed = all(abs(state.arm[k] - aim[k]) < AIMED for k in (0, 4))
        if not under_way and not (aimed and gripper >= OPEN_READY):
            return ExpertAction(still, aim, "open")
        return ExpertAction(still, grasp_pose, "lower")
    return ExpertAction(still, arm_pose(cube_b, cube_yaw_b, GRASP_DEPTH, GRIPPER_CLOSED), "close")


def at_grasp_stand(state: WorldState, drive: ExpertAction, factor: float) -> bool:
    """The base where it grasps from: on the last leg, facing the stand's way and the cube ahead of
    it by GRASP_X within `factor` times the alignment tolerances (sideways, and short of it), or
    up to REACH_PAST less (it went past the stand)."""
    if drive.phase != "approach":
        return False
    (ahead, aside), _ = _in_base(state)
    tolerance = factor * ALIGNED_POSITION
    return (
        nearest_grasp(factor) <= ahead < GRASP_X + tolerance
        and abs(aside) < tolerance
        and abs(kin.wrap_angle(grasp_stand(state)[2] - state.robot[2])) < factor * ALIGNED_YAW
    )


def expert_action(state: WorldState, side: int) -> ExpertAction:
    """What the expert does in `state`, a pure function of it and the default detour side."""
    drive, aligned = drive_action(state, side)
    return grasp_action(state, drive, aligned)


class Expert:
    """One episode of the expert: its detour side (drawn per episode by the caller, or following the
    learner's side as an oracle) and the phase of its last action, for logs. The action itself is
    `expert_action(state, side)`: the same state always gets the same action."""

    def __init__(self, side: int = 1):
        self.side = side
        self.phase = "approach"

    def act(self, state: WorldState) -> ExpertAction:
        action = expert_action(state, self.side)
        self.phase = action.phase
        return action
