"""The pick task on the LeKiwi sim as a gymnasium environment, free of ROS.

The same MuJoCo model, layouts and success as the ROS sim graph (kiwi_driver.SimBackend,
kiwi_common.task), seen and commanded as a LeRobot LeKiwi policy sees and commands the robot:

- observation `agent_pos`: LeRobot's LeKiwi `observation.state` (arm degrees, gripper 0..100,
  base velocity from the wheel speeds); `environment_state` (optional): the cube and the obstacle
  relative to the robot, as the converter makes it from the sim's ground truth; `pixels`
  (optional): the front and/or wrist camera rendered at the smallest size of its own aspect that
  covers the image size (`kiwi_common.images.render_size`, as the sim driver with `image_size`)
  and resized with the converter's interpolation.
- action: LeRobot's LeKiwi action (arm targets in LeRobot units, `x.vel`, `y.vel`, `theta.vel`),
  limited as the driver limits commands (joint limits, `max_step` per tick from the present
  position, the wheels' speed clamp).
- timing, as in the ROS graph: each step is one 1/fps control tick, and an action reaches the
  robot `action_delay` ticks after the observation it answers (1 by default: in the graph a
  command computed from a tick's /joint_states is written at the driver's next tick).

`info` carries `is_success` (strict success, `kiwi_common.task`: the cube between the jaws, 5 cm
above its rest, for 1 s: the episode terminates), `lifted` (the old, loose measure: the cube's
centre above 4.5 cm now), `between_jaws`, `collision` (any part of the robot touches the obstacle), `clearance` (chassis to obstacle, m) and `expert_action`: the
scripted expert's action for the present state, in the same units, for DAgger-style labelling.
The expert takes the detour side the last commanded base twist heads for, as the ROS oracle does.
"""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np

from kiwi_common.features import (
    ENVIRONMENT_NAMES,
    action_vector,
    environment_vector,
    split_action,
    state_vector,
)
from kiwi_common.images import render_size, resize_image
from kiwi_common.task import LAYOUT_KINDS, TASK, HoldClock, chassis_clearance, is_held_up, is_lifted
from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_driver.commands import arm_targets
from kiwi_driver.sim_backend import SimBackend
from kiwi_teleop.expert import Expert, ExpertAction, WorldState, side_agreeing_with

MAX_STEP = c.ARM_MAX_VELOCITY / c.CONTROL_RATE_HZ  # the driver's default per-tick arm step (rad)
N_ACTIONS = len(c.ARM_JOINTS) + 3
TOP_VIEW = {"lookat": (0.45, 0.0, 0.0), "distance": 1.9, "azimuth": 0.0, "elevation": -90.0}


class KiwiPickEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": int(c.CONTROL_RATE_HZ)}

    def __init__(
        self,
        obstacle: bool = True,
        cameras: tuple[str, ...] | str = (),
        image_height: int = 96,
        image_width: int = 128,
        environment_state: bool = True,
        action_delay: int = 1,
        render_mode: str | None = "rgb_array",
        visualization_height: int = 240,
        visualization_width: int = 320,
        layouts: str = "default",
    ):
        cameras = tuple(x for x in cameras.split(",") if x) if isinstance(cameras, str) else tuple(cameras)
        unknown = [cam for cam in cameras if cam not in c.CAMERAS]
        if unknown:
            raise ValueError(f"unknown camera(s) {', '.join(unknown)}; known: {', '.join(c.CAMERAS)}")
        if action_delay < 0:
            raise ValueError(f"action_delay must be 0 or more ticks, got {action_delay}")
        if layouts not in LAYOUT_KINDS:
            raise ValueError(f"layouts must be one of {', '.join(LAYOUT_KINDS)}, got {layouts!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be rgb_array or None, got {render_mode!r}")
        self.obstacle, self.cameras, self.action_delay = obstacle, cameras, action_delay
        self.layouts = layouts
        self.image_shape = (image_height, image_width)
        self.with_environment_state = environment_state
        self.render_mode = render_mode
        self.visualization_shape = (visualization_height, visualization_width)
        self.task = self.task_description = TASK

        spaces = {"agent_pos": gym.spaces.Box(-np.inf, np.inf, (N_ACTIONS,), np.float32)}
        if environment_state:
            spaces["environment_state"] = gym.spaces.Box(
                -np.inf, np.inf, (len(ENVIRONMENT_NAMES),), np.float32
            )
        if cameras:
            spaces["pixels"] = gym.spaces.Dict(
                {cam: gym.spaces.Box(0, 255, (*self.image_shape, 3), np.uint8) for cam in cameras}
            )
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(-np.inf, np.inf, (N_ACTIONS,), np.float32)

        self.sim = SimBackend(control_dt=1.0 / c.CONTROL_RATE_HZ)
        self.layout = self.sim.layout
        self._pending: deque = deque()
        self._arm_target = self.sim.arm_positions()
        self._twist = (0.0, 0.0, 0.0)
        self._expert = Expert()

    # --- gymnasium ---------------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """The layout of `seed` (the same as the ROS sim's /sim/reset with that seed); without a seed
        one is drawn from the env's generator. `options={"expert_side": 1 or -1}` sets the side the
        expert in `info` detours by (default: drawn from the seed), e.g. to record both detours
        from the same start."""
        super().reset(seed=seed)
        layout_seed = int(seed) if seed is not None else int(self.np_random.integers(2**31))
        self.layout = self.sim.reset(layout_seed, self.obstacle, self.layouts)
        # As the driver after /sim/reset: no command yet, the arm held where it is, the base still.
        self._pending = deque([None] * self.action_delay)
        self._arm_target = self.sim.arm_positions()
        self._twist = (0.0, 0.0, 0.0)
        self._hold = HoldClock()
        self._succeeded = False
        side = (options or {}).get("expert_side", int(np.random.default_rng(layout_seed).choice((-1, 1))))
        if side not in (-1, 1):
            raise ValueError(f"expert_side must be 1 (left) or -1 (right), got {side!r}")
        self._expert = Expert(side)
        return self._observation(), self._info()

    def step(self, action):
        values = np.asarray(action, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"the action has a non-finite value: {values.tolist()}")
        command = split_action(values)  # raises naming the expected length
        self._pending.append(command)
        self._apply(self._pending.popleft())
        held_up = is_held_up(float(self.sim.cube_pose()[0][2]), self.sim.cube_between_jaws())
        self._succeeded = self._hold.update(self.sim.time, held_up)
        return self._observation(), float(self._succeeded), self._succeeded, False, self._info()

    @property
    def expert_side(self) -> int:
        """The side (1 left, -1 right) the expert in `info` detours by now."""
        return self._expert.side

    def expert_action_for(self, twist: tuple[float, float, float]) -> np.ndarray:
        """The expert's action now, its detour side first following the side a learner's proposed
        `twist` (m/s, rad/s) heads for: as the ROS expert node labels and gates a policy's
        command each tick, even while it drives itself."""
        return _action(self._expert_act(self._world(), twist))

    def render(self):
        if self.render_mode is None:
            return None
        return self.sim.render_view(TOP_VIEW, *self.visualization_shape[::-1])

    def close(self) -> None:
        self.sim.close()

    # --- parts -----------------------------------------------------------------------------------

    def _apply(self, command) -> None:
        """One driver tick: the command (None: none yet) limited as the driver limits it."""
        present = self.sim.arm_positions()
        if command is not None:
            arm, self._twist = command
            self._arm_target = arm_targets(arm, self._arm_target, present, MAX_STEP)
        wheels = kin.clamp_wheel_speeds(kin.body_to_wheel_speeds(*self._twist))
        self.sim.write(self._arm_target, wheels)

    def _expert_act(self, world: WorldState, twist: tuple[float, float, float] | None) -> ExpertAction:
        """The expert's action in `world`, its side first following `twist`'s (none: kept)."""
        if twist is not None:
            self._expert.side = side_agreeing_with(world, twist, self._expert.side)
        return self._expert.act(world)

    def _world(self) -> WorldState:
        return WorldState.from_sim(self.sim)

    def _observation(self) -> dict:
        sim = self.sim
        arm = dict(zip(c.ARM_JOINTS, (float(v) for v in sim.arm_positions())))
        obs = {"agent_pos": state_vector(arm, sim.wheel_velocities())}
        if self.with_environment_state:
            world = self._world()
            obs["environment_state"] = environment_vector(
                world.robot, world.cube, world.cube_yaw, world.obstacle
            )
        if self.cameras:
            obs["pixels"] = {
                cam: resize_image(
                    sim.render(
                        cam, *render_size((c.CAMERAS[cam].width, c.CAMERAS[cam].height), self.image_shape)
                    ),
                    self.image_shape,
                )
                for cam in self.cameras
            }
        return obs

    def _info(self) -> dict:
        world = self._world()
        # Labelling a learner: follow the detour it heads for.
        expert = self._expert_act(world, self._twist if any(self._twist) else None)
        # Python types: a vector env stacks each key into an array typed by its first value, and
        # a numpy bool makes an object array whose unfinished envs read None (LeRobot's rollout
        # then fails with "Could not infer dtype of NoneType").
        return {
            "is_success": self._succeeded,
            "lifted": bool(is_lifted(world.cube[2])),
            "between_jaws": bool(self.sim.cube_between_jaws()),
            "collision": bool(self.sim.obstacle_contact()),
            "clearance": float(chassis_clearance(world.robot[:2], world.obstacle)),
            "expert_action": _action(expert),
            "expert_phase": expert.phase,
            "seed": self.layout.seed,
        }


def _action(expert: ExpertAction) -> np.ndarray:
    """The expert's action as LeRobot's LeKiwi action vector."""
    return action_vector(dict(zip(c.ARM_JOINTS, expert.arm)), expert.twist)
