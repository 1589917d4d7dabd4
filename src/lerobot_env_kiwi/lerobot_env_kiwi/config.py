"""`--env.type=kiwi`: the LeKiwi pick task for LeRobot's scripts (lerobot-eval, lerobot-train's
evaluation). Feature names are those of a Kiwi dataset, so a policy trained on one runs here."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

from kiwi_common.features import ENVIRONMENT_NAMES, MOTOR_NAMES
from kiwi_description import constants as c

GYM_ID = "lerobot_env_kiwi/KiwiPick-v0"


@EnvConfig.register_subclass("kiwi")
@dataclass
class KiwiEnv(EnvConfig):
    task: str | None = "KiwiPick-v0"
    fps: int = int(c.CONTROL_RATE_HZ)
    episode_length: int = 600  # steps (20 s at 30 Hz), as `kiwi demo`'s evaluation episodes
    obstacle: bool = True
    layouts: str = "default"  # or "wide": the wider task (kiwi_common.task.sample_wide_layout)
    cameras: str = ""  # comma-separated, e.g. "front,wrist"; empty: state-only
    observation_height: int = 96
    observation_width: int = 128
    environment_state: bool = True  # the cube and obstacle from the sim's ground truth
    action_delay: int = 1  # ticks from an observation to its action reaching the robot (the graph's)
    render_mode: str = "rgb_array"
    visualization_height: int = 240
    visualization_width: int = 320

    def __post_init__(self):
        self.features = {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(len(MOTOR_NAMES),)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(len(MOTOR_NAMES),)),
        }
        self.features_map = {ACTION: ACTION, "agent_pos": OBS_STATE}
        if self.environment_state:
            self.features["environment_state"] = PolicyFeature(
                type=FeatureType.ENV, shape=(len(ENVIRONMENT_NAMES),)
            )
            self.features_map["environment_state"] = OBS_ENV_STATE
        for cam in (x for x in self.cameras.split(",") if x):
            self.features[cam] = PolicyFeature(
                type=FeatureType.VISUAL, shape=(self.observation_height, self.observation_width, 3)
            )
            self.features_map[cam] = f"{OBS_IMAGES}.{cam}"

    @property
    def package_name(self) -> str:
        return "lerobot_env_kiwi"

    @property
    def gym_kwargs(self) -> dict:
        return {
            "obstacle": self.obstacle,
            "layouts": self.layouts,
            "cameras": self.cameras,
            "image_height": self.observation_height,
            "image_width": self.observation_width,
            "environment_state": self.environment_state,
            "action_delay": self.action_delay,
            "render_mode": self.render_mode,
            "visualization_height": self.visualization_height,
            "visualization_width": self.visualization_width,
            "max_episode_steps": self.episode_length,
        }
