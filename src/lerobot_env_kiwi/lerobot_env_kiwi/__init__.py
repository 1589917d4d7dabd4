"""LeRobot env plugin: the LeKiwi pick task in Kiwi's MuJoCo sim (`--env.type=kiwi`).

LeRobot's scripts import installed distributions named `lerobot_env_*` at start-up; importing
this package registers the gymnasium id `lerobot_env_kiwi/KiwiPick-v0` and the `kiwi` EnvConfig.
"""

import gymnasium as gym

from .config import GYM_ID, KiwiEnv

if GYM_ID not in gym.registry:
    gym.register(GYM_ID, entry_point="lerobot_env_kiwi.env:KiwiPickEnv", max_episode_steps=600)

__all__ = ["GYM_ID", "KiwiEnv"]
