"""What Kiwi shows in Rerun, fed plain values: the same calls serve a live graph and a recording.

Entities (times on the `time` timeline, the robot's clock: sim time in the sim, else Unix time):
- `camera/<name>`: each camera's images.
- `map/...` (metres, z up, the odom frame; in the sim the world, where the robot starts at the
  origin): the robot's pose and executed path from odometry and, in the sim, from the ground
  truth; the cube, the obstacle; the policy's planned path.
- `joints/<joint>/{measured,command}`, `base/<axis>/{measured,command}`, in LeRobot's units (degrees,
  the gripper 0..100, m/s, deg/s): the base measured from the wheels, as `observation.state`.
- `status/intervention` (1 while a human or the expert drives), `status/takeovers` (their reasons).
- `diagnostics/<status>/<key>` for every numeric diagnostic value (inference latency, chunk age,
  the driver's tick period), and `diagnostics/log` when a status's level or message changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import rerun as rr
import rerun.blueprint as rrb

from kiwi_common.features import MOTOR_NAMES
from kiwi_common.units import joint_rad_to_lerobot
from kiwi_description import constants as c

TIMELINE = "time"
BASE_AXES = ("x.vel", "y.vel", "theta.vel")  # LeRobot's LeKiwi names: m/s, m/s, deg/s
PATH_STEP_M = 0.01  # a new path point once the robot moved this far: paths stay short
MAX_PATH_POINTS = 5000
JUMP_M = 0.5  # a pose this far from the last one is a reset (a new episode): a new path
WALL_CLOCK_S = 1e8  # times beyond this (three years) are Unix times (a robot's clock), not sim time
ROBOT_COLORS = {"odom": (80, 160, 255), "ground_truth": (120, 220, 120)}
DIAGNOSTIC_LEVELS = ("OK", "WARN", "ERROR", "STALE")
# The map is drawn at most this often per entity (its messages come at 30 Hz each, and building
# Rerun's 3D archetypes in Python is what the viewer's process spends most on); a cube or an
# obstacle that has not moved is not drawn again.
MAP_PERIOD_S = 0.1
MOVED_M, TURNED_RAD = 0.001, 0.01
STILL_REFRESH_S = 5.0  # ...except every few seconds, for a viewer whose server dropped old data


class Path2D:
    """Points of a path, one per PATH_STEP_M moved, the oldest dropped past MAX_PATH_POINTS."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def add(self, x: float, y: float) -> bool:
        """Add (x, y) if it is PATH_STEP_M from the last point (or start anew after a jump of
        JUMP_M: the sim was reset); True if the path changed."""
        if self.points and math.dist(self.points[-1], (x, y)) >= JUMP_M:
            self.points.clear()
        if self.points and math.dist(self.points[-1], (x, y)) < PATH_STEP_M:
            return False
        self.points.append((x, y))
        del self.points[:-MAX_PATH_POINTS]
        return True


def in_frame(pose: tuple[float, float, float], points: np.ndarray) -> np.ndarray:
    """(N, 2) points given in the frame of `pose` (x, y, yaw) -> the frame the pose is given in."""
    x, y, yaw = pose
    rot = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
    return np.asarray(points, float).reshape(-1, 2) @ rot.T + (x, y)


def numeric(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class Scene:
    """Logs Kiwi's signals to a Rerun recording stream. `at(t)` sets the time of what follows."""

    def __init__(self, recording: rr.RecordingStream) -> None:
        self.rec = recording
        self.paths = {source: Path2D() for source in ROBOT_COLORS}
        self.poses: dict[str, tuple[float, float, float]] = {}
        self.now = 0.0
        self.drawn: dict[str, tuple[float, tuple[float, ...]]] = {}  # map entity -> (time, pose)
        self.diagnostic_states: dict[str, tuple[int, str]] = {}
        self.rec.log("map", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        for name, (vx, vy) in {"x": (1, 0), "y": (0, 1)}.items():
            self.rec.log(f"map/axes/{name}", rr.Arrows3D(vectors=[(0.2 * vx, 0.2 * vy, 0)]), static=True)

    def at(self, seconds: float) -> None:
        """What follows happened at `seconds` of the robot's clock: sim time (a duration since the
        sim started) or, on a robot, Unix time."""
        self.now = seconds
        if seconds > WALL_CLOCK_S:
            self.rec.set_time(TIMELINE, timestamp=seconds)
        else:
            self.rec.set_time(TIMELINE, duration=seconds)

    def _due(self, entity: str, pose: tuple[float, ...], moving: bool) -> bool:
        """Whether to draw `entity` at `pose` now: MAP_PERIOD_S after its last drawing, and for an
        object that stands still (`moving` False) only once it has moved or turned."""
        last = self.drawn.get(entity)
        if last is not None:
            when, was = last
            if 0.0 <= self.now - when < MAP_PERIOD_S:  # (time going back: a new recording)
                return False
            if (
                self.now - when < STILL_REFRESH_S
                and not moving
                and math.dist(pose[:-1], was[:-1]) < MOVED_M
                and abs(pose[-1] - was[-1]) < TURNED_RAD
            ):
                return False
        self.drawn[entity] = (self.now, pose)
        return True

    # --- cameras -------------------------------------------------------------------------------

    def jpeg(self, camera: str, data: bytes) -> None:
        self.rec.log(f"camera/{camera}", rr.EncodedImage(contents=bytes(data), media_type="image/jpeg"))

    def image(self, camera: str, rgb: np.ndarray) -> None:
        self.rec.log(f"camera/{camera}", rr.Image(np.asarray(rgb, np.uint8)))

    # --- the map -------------------------------------------------------------------------------

    def robot_pose(self, source: str, x: float, y: float, yaw: float) -> None:
        """The robot at (x, y, yaw) by `source` (odom or ground_truth), and its path so far."""
        self.poses[source] = (x, y, yaw)
        path, color = self.paths[source], ROBOT_COLORS[source]
        if path.add(x, y) and self._due(f"map/path/{source}", (x, y, yaw), moving=True):
            self.rec.log(
                f"map/path/{source}",
                rr.LineStrips3D([[(px, py, 0.0) for px, py in path.points]], colors=[color]),
            )
        if not self._due(f"map/robot/{source}", (x, y, yaw), moving=True):
            return
        self.rec.log(
            f"map/robot/{source}",
            rr.Arrows3D(
                origins=[(x, y, c.BASE_HEIGHT)],
                vectors=[(0.2 * math.cos(yaw), 0.2 * math.sin(yaw), 0.0)],
                colors=[color],
            ),
            rr.Ellipsoids3D(
                centers=[(x, y, c.BASE_HEIGHT / 2)],
                half_sizes=[(c.BASE_BODY_RADIUS, c.BASE_BODY_RADIUS, c.BASE_HEIGHT / 2)],
                colors=[color],
                fill_mode="majorwireframe",
            ),
        )

    def cube(self, x: float, y: float, z: float, yaw: float = 0.0) -> None:
        if self._due("map/cube", (x, y, z, yaw), moving=False):
            self.rec.log("map/cube", _box((x, y, z), (c.CUBE_SIZE,) * 3, yaw, (230, 160, 40)))

    def obstacle(self, x: float, y: float, yaw: float = 0.0) -> None:
        size = c.OBSTACLE_SIZE
        if self._due("map/obstacle", (x, y, yaw), moving=False):
            self.rec.log("map/obstacle", _box((x, y, size[2] / 2), size, yaw, (200, 70, 70)))

    def planned_path(self, points_in_base: np.ndarray) -> None:
        """The policy's planned base path, given in the robot's frame where its chunk starts, drawn
        from the robot's latest pose (the ground truth where there is one)."""
        pose = self.poses.get("ground_truth") or self.poses.get("odom")
        if pose is None or len(points_in_base) == 0:
            return
        xy = in_frame(pose, points_in_base)
        self.rec.log(
            "map/planned_path", rr.LineStrips3D([[(px, py, 0.01) for px, py in xy]], colors=[(255, 230, 60)])
        )

    # --- time series (LeRobot's units: degrees, the gripper 0..100, m/s, deg/s) ---------------

    def state(self, vector) -> None:
        """`observation.state` (MOTOR_NAMES order): what the robot measured."""
        for name, value in zip(MOTOR_NAMES, vector):
            self.rec.log(f"{_series(name)}/measured", rr.Scalars(float(value)))

    def action(self, vector) -> None:
        """`action` (MOTOR_NAMES order): what the robot was commanded."""
        for name, value in zip(MOTOR_NAMES, vector):
            self.rec.log(f"{_series(name)}/command", rr.Scalars(float(value)))

    def arm_command(self, targets_rad: dict[str, float]) -> None:
        for joint, rad in targets_rad.items():
            if joint in c.ARM_JOINTS:
                self.rec.log(f"joints/{joint}/command", rr.Scalars(joint_rad_to_lerobot(joint, rad)))

    def base_command(self, vx: float, vy: float, wz_rad: float) -> None:
        for axis, value in zip(BASE_AXES, (vx, vy, math.degrees(wz_rad))):
            self.rec.log(f"base/{axis}/command", rr.Scalars(value))

    def intervention(self, active: bool) -> None:
        self.rec.log("status/intervention", rr.Scalars(float(active)))

    def takeover(self, reason: str) -> None:
        self.rec.log("status/takeovers", rr.TextLog(reason, level="WARN"))

    def diagnostic(self, name: str, level: int, message: str, values: dict[str, str]) -> None:
        for key, text in values.items():
            value = numeric(text)
            if value is not None:
                self.rec.log(f"diagnostics/{_entity(name)}/{_entity(key)}", rr.Scalars(value))
        state = (level, message)
        if self.diagnostic_states.get(name) != state:
            self.diagnostic_states[name] = state
            label = DIAGNOSTIC_LEVELS[level] if 0 <= level < len(DIAGNOSTIC_LEVELS) else str(level)
            self.rec.log(
                "diagnostics/log",
                rr.TextLog(f"{name}: {message}", level="INFO" if label in ("OK", "STALE") else label),
            )


def _series(motor: str) -> str:
    """A LeRobot motor name -> its entity ('arm_elbow_flex.pos' -> joints/arm_elbow_flex)."""
    return f"base/{motor}" if motor in BASE_AXES else f"joints/{motor.removesuffix('.pos')}"


def _entity(text: str) -> str:
    """A diagnostic name as one entity path part ('driver: timing' -> 'driver_timing')."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text).strip("_") or "unnamed"


def _box(center, size, yaw: float, color) -> rr.Boxes3D:
    return rr.Boxes3D(
        centers=[center],
        sizes=[size],
        rotation_axis_angles=[rr.RotationAxisAngle(axis=(0, 0, 1), radians=yaw)],
        colors=[color],
        fill_mode="solid",
    )


# The diagnostics worth a plot (the rest are counters); every value is logged all the same.
LATENCY_SERIES = (
    "policy__policy/inference_ms_p50",
    "policy__policy/inference_ms_p99",
    "driver__timing/period_p50_ms",
    "driver__timing/period_p99_ms",
)


def blueprint(cameras: Iterable[str] = tuple(c.CAMERAS)) -> rrb.Blueprint:
    """The layout: cameras and the map on the left, the signals on the right."""
    camera_views = [rrb.Spatial2DView(origin=f"camera/{cam}", name=cam) for cam in cameras]
    joint_views = [rrb.TimeSeriesView(origin=f"joints/{j}", name=j) for j in c.ARM_JOINTS]
    base_views = [rrb.TimeSeriesView(origin=f"base/{axis}", name=axis) for axis in BASE_AXES]
    return rrb.Blueprint(
        rrb.Horizontal(
            rrb.Vertical(
                rrb.Horizontal(*camera_views),
                rrb.Spatial3DView(
                    origin="map",
                    name="map (odom frame)",
                    # From above and behind the start, looking down the task's +x.
                    eye_controls=rrb.archetypes.EyeControls3D(
                        position=(-0.6, 0.0, 1.6), look_target=(0.6, 0.0, 0.0), eye_up=(0.0, 0.0, 1.0)
                    ),
                ),
                row_shares=[1, 2],
            ),
            rrb.Vertical(
                rrb.Grid(*joint_views, name="arm: measured against command"),
                rrb.Horizontal(*base_views, name="base: measured against command"),
                rrb.Horizontal(
                    rrb.TimeSeriesView(origin="status", name="intervention"),
                    rrb.TextLogView(origin="status/takeovers", name="take-overs"),
                    rrb.TimeSeriesView(
                        origin="diagnostics",
                        name="inference, tick period (ms)",
                        contents=[f"+ $origin/{series}" for series in LATENCY_SERIES],
                    ),
                    rrb.TextLogView(origin="diagnostics/log", name="diagnostics log"),
                ),
                row_shares=[3, 1, 1],
            ),
            column_shares=[1, 1],
        ),
        collapse_panels=True,
    )
