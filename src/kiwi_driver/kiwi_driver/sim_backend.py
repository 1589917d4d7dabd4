"""The MuJoCo simulation of LeKiwi, free of ROS.

One `step` advances the physics by one control period. Wheels are velocity servos; the base
follows the twist its wheels make (through the same kinematics as the real robot), so wheel
states, odometry and the base's motion agree, and a blocked base shows up as odometry that
disagrees with ground truth (the wheels turn, the base does not), as wheel slip would on the robot.
"""

from __future__ import annotations

import math
import os

import numpy as np

from kiwi_common.task import SceneLayout, layout_of
from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_description.mjcf import BASE_JOINTS, OBSTACLE_PARKED, build_mjcf

from .backend import Diagnostic, RobotState

# EGL must be chosen before mujoco is imported (software Mesa on machines without a GPU).
os.environ.setdefault("MUJOCO_GL", "egl")
import mujoco  # noqa: E402

HOME_POSE: dict[str, float] = {name: 0.0 for name in c.ARM_JOINTS} | {
    c.GRIPPER_JOINT: c.ARM_LIMITS[c.GRIPPER_JOINT].lower
}


class SimBackend:
    """LeKiwi in MuJoCo. Deterministic for a seed: same seed and commands give the same states."""

    def __init__(self, control_dt: float = 1.0 / c.CONTROL_RATE_HZ, max_timestep: float = 0.002):
        if control_dt <= 0:
            raise ValueError(f"control_dt must be positive, got {control_dt}")
        self.substeps = max(1, math.ceil(control_dt / max_timestep - 1e-9))
        self.control_dt = control_dt
        self.model = mujoco.MjModel.from_xml_string(build_mjcf(timestep=control_dt / self.substeps))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._arm_qpos = [m.joint(n).qposadr[0] for n in c.ARM_JOINTS]
        self._arm_qvel = [m.joint(n).dofadr[0] for n in c.ARM_JOINTS]
        self._arm_act = [m.actuator(n).id for n in c.ARM_JOINTS]
        self._wheel_qpos = [m.joint(n).qposadr[0] for n in c.WHEEL_JOINTS]
        self._wheel_qvel = [m.joint(n).dofadr[0] for n in c.WHEEL_JOINTS]
        self._wheel_act = [m.actuator(n).id for n in c.WHEEL_JOINTS]
        self._base_qpos = [m.joint(n).qposadr[0] for n in BASE_JOINTS]
        self._base_qvel = [m.joint(n).dofadr[0] for n in BASE_JOINTS]
        self._base_act = [m.actuator(n).id for n in BASE_JOINTS]
        self._cube_qpos = m.joint("cube_joint").qposadr[0]
        self._obstacle_mocap = m.body("obstacle").mocapid[0]
        self._obstacle_body = m.body("obstacle").id
        self._not_robot = {0, m.body("cube").id, self._obstacle_body}  # world (floor), cube, obstacle
        self._cube_body = m.body("cube").id
        self._jaw_bodies = {m.body("gripper_link").id, m.body("moving_jaw_link").id}  # fixed, moving
        self._renderers: dict[tuple[str, int, int], mujoco.Renderer] = {}
        self.layout = self.reset(0, obstacle=False)

    # --- state -----------------------------------------------------------------------------------

    @property
    def time(self) -> float:
        return float(self.data.time)

    def reset(self, seed: int, obstacle: bool, kind: str = "default") -> SceneLayout:
        """Robot at the origin in its home pose; cube and obstacle placed from the seed (in the
        layout distribution `kind`, `kiwi_common.task.layout_of`). Sim time goes on (it is /clock:
        ROS nodes on sim time must never see it jump back)."""
        now = float(self.data.time)
        mujoco.mj_resetData(self.model, self.data)
        self.data.time = now
        layout = layout_of(kind, seed, obstacle)
        self.data.qpos[self._base_qpos[2]] = layout.start_yaw
        for adr, act, name in zip(self._arm_qpos, self._arm_act, c.ARM_JOINTS):
            self.data.qpos[adr] = HOME_POSE[name]
            self.data.ctrl[act] = HOME_POSE[name]
        q = self._cube_qpos
        self.data.qpos[q : q + 3] = (*layout.cube_xy, c.CUBE_SIZE / 2)
        half = layout.cube_yaw / 2
        self.data.qpos[q + 3 : q + 7] = (math.cos(half), 0.0, 0.0, math.sin(half))
        self.data.mocap_pos[self._obstacle_mocap] = (
            (*layout.obstacle_xy, c.OBSTACLE_SIZE[2] / 2) if layout.obstacle_xy else OBSTACLE_PARKED
        )
        mujoco.mj_forward(self.model, self.data)
        self.layout = layout
        return layout

    def read(self) -> RobotState:
        return RobotState(
            self.arm_positions(), self.arm_velocities(), self.wheel_positions(), self.wheel_velocities()
        )

    def arm_positions(self) -> np.ndarray:
        return self.data.qpos[self._arm_qpos].copy()

    def arm_velocities(self) -> np.ndarray:
        return self.data.qvel[self._arm_qvel].copy()

    def arm_targets(self) -> np.ndarray:
        return self.data.ctrl[self._arm_act].copy()

    def wheel_positions(self) -> np.ndarray:
        return self.data.qpos[self._wheel_qpos].copy()

    def wheel_velocities(self) -> np.ndarray:
        return self.data.qvel[self._wheel_qvel].copy()

    def base_pose(self) -> tuple[float, float, float]:
        x, y, yaw = self.data.qpos[self._base_qpos]
        return float(x), float(y), kin.wrap_angle(float(yaw))

    def base_twist(self) -> tuple[float, float, float]:
        """Ground-truth body-frame twist (m/s, m/s, rad/s)."""
        vxw, vyw, wz = self.data.qvel[self._base_qvel]
        vx, vy = kin.world_to_body(float(vxw), float(vyw), float(self.data.qpos[self._base_qpos[2]]))
        return vx, vy, float(wz)

    def cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Position (x, y, z) and quaternion (w, x, y, z) of the cube in the world."""
        q = self._cube_qpos
        return self.data.qpos[q : q + 3].copy(), self.data.qpos[q + 3 : q + 7].copy()

    def obstacle_position(self) -> np.ndarray:
        return self.data.mocap_pos[self._obstacle_mocap].copy()

    def obstacle_contact(self) -> bool:
        """Whether any part of the robot (chassis, wheels, arm, gripper) touches the obstacle."""
        body = self.model.geom_bodyid
        for contact in self.data.contact[: self.data.ncon]:
            pair = {int(body[contact.geom1]), int(body[contact.geom2])}
            if self._obstacle_body in pair and not pair <= self._not_robot:
                return True
        return False

    def cube_between_jaws(self) -> bool:
        """Whether the cube touches both jaws: the fixed one (the gripper's body) and the moving one."""
        body = self.model.geom_bodyid
        touching = set()
        for contact in self.data.contact[: self.data.ncon]:
            pair = {int(body[contact.geom1]), int(body[contact.geom2])}
            if self._cube_body in pair:
                touching |= pair & self._jaw_bodies
        return touching == self._jaw_bodies

    # --- commands --------------------------------------------------------------------------------

    def write(self, arm_targets: np.ndarray | None, wheel_speed_targets: np.ndarray) -> None:
        """Hold `arm_targets` (rad, ARM_JOINTS order; None keeps the last) and wheel speeds (rad/s)
        for one control period."""
        if arm_targets is not None:
            self.data.ctrl[self._arm_act] = arm_targets
        self.data.ctrl[self._wheel_act] = wheel_speed_targets
        for _ in range(self.substeps):
            vx, vy, wz = kin.wheel_speeds_to_body(self.data.qvel[self._wheel_qvel])
            yaw = float(self.data.qpos[self._base_qpos[2]])
            vxw, vyw = kin.body_to_world(vx, vy, yaw)
            self.data.ctrl[self._base_act] = (vxw, vyw, wz)
            mujoco.mj_step(self.model, self.data)

    def stop_base(self) -> None:
        self.data.ctrl[self._wheel_act] = 0.0

    def diagnostics(self) -> list[Diagnostic]:
        return [
            Diagnostic(
                0,
                "sim",
                f"seed {self.layout.seed}",
                {
                    "sim_time": f"{self.time:.3f}",
                    "obstacle": str(self.layout.obstacle_xy is not None),
                    "contacts": str(self.data.ncon),
                },
                hardware_id="mujoco",
            )
        ]

    # --- cameras ---------------------------------------------------------------------------------

    def render(self, camera: str, width: int, height: int) -> np.ndarray:
        """RGB uint8 image (height, width, 3) from a named camera."""
        key = (camera, width, height)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = mujoco.Renderer(self.model, height=height, width=width)
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def render_view(self, view: dict, width: int, height: int) -> np.ndarray:
        """RGB uint8 image from a free camera: `view` has lookat (x, y, z), distance (m), azimuth
        and elevation (degrees), as MuJoCo's viewer camera (a top-down view for videos)."""
        key = ("view", width, height)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = mujoco.Renderer(self.model, height=height, width=width)
        camera = mujoco.MjvCamera()
        camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        camera.lookat[:] = view["lookat"]
        camera.distance, camera.azimuth, camera.elevation = (
            view["distance"],
            view["azimuth"],
            view["elevation"],
        )
        renderer.update_scene(self.data, camera=camera)
        return renderer.render()

    def close(self, torque_off: bool = True) -> None:
        self.stop_base()
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()
