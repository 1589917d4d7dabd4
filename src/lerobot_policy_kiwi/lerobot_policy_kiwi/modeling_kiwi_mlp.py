"""The kiwi_mlp policy: an MLP from the (normalized) state features, and the keypoints of each
camera's encoder (`image_encoder.py`) where the data has images, to a chunk of actions.

The single head ("mse") regresses one chunk, on the squared or the absolute error (`loss`). The mixture head regresses `n_modes` chunks and their
probabilities; training moves only the mode nearest the demonstrated chunk (winner takes all) and
teaches the probabilities which mode that was. At inference the mixture draws one mode per chunk
among those at least `mode_floor` likely and returns that mode's chunk, not an average of modes.
"""

from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_STATE
from torch import Tensor, nn

from .configuration_kiwi_mlp import LOSSES, KiwiMlpConfig
from .image_encoder import CameraEncoder, random_shift


def chunk_errors(predicted: Tensor, target: Tensor, is_pad: Tensor | None, loss: str = "mse") -> Tensor:
    """Mean squared ("mse") or absolute ("l1") error of each predicted chunk against the target,
    over its valid steps. predicted (B, K, T, A), target (B, T, A), is_pad (B, T) -> (B, K)."""
    valid = torch.ones(target.shape[:2], device=target.device) if is_pad is None else (~is_pad).float()
    difference = predicted - target.unsqueeze(1)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    error = (difference.abs() if loss == "l1" else difference.pow(2)).mean(-1)  # (B, K, T)
    return (error * valid.unsqueeze(1)).sum(-1) / valid.sum(-1, keepdim=True).clamp_min(1.0)


def mixture_loss(chunks: Tensor, logits: Tensor, target: Tensor, is_pad: Tensor | None, loss: str = "mse"):
    """Winner-takes-all regression plus cross-entropy on the winner: (loss, regression, ce, winners)."""
    errors = chunk_errors(chunks, target, is_pad, loss)
    winners = errors.argmin(-1)
    regression = errors.gather(1, winners[:, None]).mean()
    ce = F.cross_entropy(logits, winners)
    return regression + ce, regression, ce, winners


def choose_modes(probabilities: Tensor, floor: float, generator: torch.Generator | None = None) -> Tensor:
    """One mode per row, drawn in proportion to its probability among the modes at least `floor`
    likely (the most likely always among them)."""
    allowed = probabilities >= floor
    allowed[torch.arange(len(probabilities)), probabilities.argmax(-1)] = True
    weights = torch.where(allowed, probabilities, torch.zeros_like(probabilities))
    return torch.multinomial(weights, 1, generator=generator).squeeze(-1)


class KiwiMlpPolicy(PreTrainedPolicy):
    config_class = KiwiMlpConfig
    name = "kiwi_mlp"

    def __init__(self, config: KiwiMlpConfig, **kwargs):
        super().__init__(config)
        config.validate_features()
        self.config = config
        self.inputs = [key for key in (OBS_STATE, OBS_ENV_STATE) if key in config.input_features]
        self.cameras = list(config.image_features)
        # ModuleDict keys cannot hold dots: one encoder per camera, in the features' order.
        self.encoders = nn.ModuleList(
            CameraEncoder(config.image_channels, config.keypoints) for _ in self.cameras
        )
        width = sum(config.input_features[key].shape[0] for key in self.inputs)
        width += 2 * config.keypoints * len(self.cameras)
        self.action_dim = config.action_feature.shape[0]
        layers, size = [], width
        for _ in range(config.n_layers):
            layers += [nn.Linear(size, config.hidden_dim), nn.ReLU()]
            size = config.hidden_dim
        self.trunk = nn.Sequential(*layers)
        self.modes = config.n_modes if config.head == "mixture" else 1
        self.chunks = nn.Linear(size, self.modes * config.chunk_size * self.action_dim)
        self.logits = nn.Linear(size, self.modes) if config.head == "mixture" else None
        self.reset()

    def get_optim_params(self) -> dict:
        return self.parameters()

    def reset(self):
        self._action_queue = deque([], maxlen=self.config.n_action_steps)

    def _heads(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        """Every mode's chunk (B, K, T, A), normalized, and the modes' logits (B, K) or None."""
        state = torch.cat([batch[key] for key in self.inputs], dim=-1) if self.inputs else None
        parts = [] if state is None else [state.clamp(-self.config.input_clip, self.config.input_clip)]
        for camera, encoder in zip(self.cameras, self.encoders, strict=True):
            images = batch[camera]
            if self.training:
                images = random_shift(images, self.config.shift_pad)
            parts.append(encoder(images))
        features = self.trunk(torch.cat(parts, dim=-1))
        chunks = self.chunks(features).view(-1, self.modes, self.config.chunk_size, self.action_dim)
        return chunks, None if self.logits is None else self.logits(features)

    def predict_modes(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Every mode's chunk (B, K, T, A), normalized, and the modes' probabilities (B, K)."""
        chunks, logits = self._heads(batch)
        if logits is None:
            return chunks, torch.ones(chunks.shape[:2], device=chunks.device)
        return chunks, logits.softmax(-1)

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        self.eval()
        chunks, probabilities = self.predict_modes(batch)
        if self.modes == 1:
            return chunks[:, 0]
        chosen = choose_modes(probabilities, self.config.mode_floor)
        return chunks[torch.arange(len(chunks)), chosen]

    @torch.no_grad()
    def select_action(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        self.eval()
        if not self._action_queue:
            chunk = self.predict_action_chunk(batch)[:, : self.config.n_action_steps]
            self._action_queue.extend(chunk.transpose(0, 1))
        return self._action_queue.popleft()

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict]:
        chunks, logits = self._heads(batch)
        target, is_pad = batch[ACTION], batch.get("action_is_pad")
        kind = self.config.loss
        if logits is None:
            loss = chunk_errors(chunks, target, is_pad, kind).mean()
            return loss, {kind: loss.item()}
        loss, regression, ce, winners = mixture_loss(chunks, logits, target, is_pad, kind)
        share = torch.bincount(winners, minlength=self.modes).float() / len(winners)
        return loss, {kind: regression.item(), "ce": ce.item(), "mode0_share": share[0].item()}
