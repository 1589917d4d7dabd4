"""LeRobot policy plugin: `--policy.type=kiwi_mlp`, an MLP over the state features and, where the
data has cameras, the keypoints of a small convolutional encoder per camera.

LeRobot's scripts import installed distributions named `lerobot_policy_*` at start-up; importing
this package registers the config, and LeRobot finds the policy and its processors by its naming
convention (`configuration_kiwi_mlp` -> `modeling_kiwi_mlp`, `processor_kiwi_mlp`).
"""

from .configuration_kiwi_mlp import KiwiMlpConfig

__all__ = ["KiwiMlpConfig"]
