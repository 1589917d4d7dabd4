"""The kiwi_mlp policy's settings.

Inputs: `observation.state`, and `observation.environment_state` or camera images or both. Each
camera goes through its own small convolutional encoder (`image_encoder.py`) to `keypoints` image
positions, which join the state at the MLP's input.

`head="mse"` predicts one chunk per state. With `loss="mse"` it is behaviour cloning as the
textbook writes it: where the demonstrations disagree (two detours) it predicts their mean; with
`loss="l1"` their median (`kiwi train`'s default: "shut" where most demonstrations shut the jaws).
`head="mixture"` predicts `n_modes` chunks and a probability for each, trained with the error of
the best mode only (winner takes all) plus a cross-entropy that teaches which mode won: each mode
fits one cluster of the demonstrations instead of their average.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType
from lerobot.optim.optimizers import AdamWConfig
from lerobot.optim.schedulers import CosineAnnealingWithWarmupSchedulerConfig

HEADS = ("mse", "mixture")
LOSSES = ("mse", "l1")


@PreTrainedConfig.register_subclass("kiwi_mlp")
@dataclass
class KiwiMlpConfig(PreTrainedConfig):
    n_obs_steps: int = 1
    chunk_size: int = 10  # actions predicted per state
    n_action_steps: int = 10  # of them executed before predicting again

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MEAN_STD,
            "ENV": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.MEAN_STD,
        }
    )

    hidden_dim: int = 256
    n_layers: int = 2
    head: str = "mse"
    n_modes: int = 2
    # The error each chunk is trained on: "mse" (squared) regresses to the mean of the demonstrated
    # actions at a state, "l1" (absolute) to their median.
    loss: str = "mse"
    # A mixture draws its mode per chunk among those at least this likely: at a state both modes
    # fit it may take either, a state already on one side makes that side's mode the only one.
    mode_floor: float = 0.2
    # Inputs this many standard deviations from the data's mean are clipped: a feature that barely
    # varied in the demonstrations (a cube never turned) cannot throw the network far off.
    input_clip: float = 5.0
    # Camera encoder: convolution width, learnt keypoints per camera, and the random shift (pixels
    # each way) applied to every training image; 0 turns the augmentation off.
    image_channels: int = 32
    keypoints: int = 32
    shift_pad: int = 4

    optimizer_lr: float = 1e-3
    optimizer_weight_decay: float = 1e-4
    warmup_steps: int = 100

    def __post_init__(self):
        super().__post_init__()
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.n_action_steps > self.chunk_size:
            raise ValueError(
                f"n_action_steps ({self.n_action_steps}) cannot exceed chunk_size ({self.chunk_size})"
            )
        if self.n_obs_steps != 1:
            raise ValueError(f"kiwi_mlp acts on the present observation only; n_obs_steps={self.n_obs_steps}")
        if min(self.image_channels, self.keypoints) < 1 or self.shift_pad < 0:
            raise ValueError(
                "image_channels and keypoints must be 1 or more and shift_pad 0 or more, got "
                f"{self.image_channels}, {self.keypoints}, {self.shift_pad}"
            )
        if self.head == "mixture" and self.n_modes < 2:
            raise ValueError(f"a mixture needs at least 2 modes, got n_modes={self.n_modes}")

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(lr=self.optimizer_lr, weight_decay=self.optimizer_weight_decay)

    def get_scheduler_preset(self) -> CosineAnnealingWithWarmupSchedulerConfig:
        # Annealed to zero over the run: the last steps settle instead of jittering at a high rate.
        return CosineAnnealingWithWarmupSchedulerConfig(num_warmup_steps=self.warmup_steps)

    def validate_features(self) -> None:
        if self.robot_state_feature is None and self.env_state_feature is None and not self.image_features:
            raise ValueError("kiwi_mlp needs observation.state, observation.environment_state or images")
        if self.action_feature is None or self.action_feature.type is not FeatureType.ACTION:
            raise ValueError("kiwi_mlp needs an `action` feature")

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list:
        return list(range(self.chunk_size))

    @property
    def reward_delta_indices(self) -> None:
        return None
