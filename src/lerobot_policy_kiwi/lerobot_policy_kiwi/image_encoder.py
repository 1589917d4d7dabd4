"""kiwi_mlp's camera encoder: a small convolutional network trained from scratch on 2 CPU cores.

Each camera image becomes the positions of `keypoints` learnt features (spatial softmax, as in
Levine et al. 2016 and LeRobot's Diffusion): where the cube, the jaws or the obstacle sit in the
image is what the task needs, and a few dozen coordinates feed an MLP far better than a large
feature map. Two stride-2 convolutions bring a 96x128 image to 24x32 before the 3x3 layers, so a
batch of 64 two-camera samples costs a few GFLOP. Training shifts each image by up to `pad`
pixels (random shift, Kostrikov et al. 2020, DrQ): with a few dozen demonstrations it is the
augmentation that keeps a from-scratch encoder from memorising pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def random_shift(images: Tensor, pad: int, generator: torch.Generator | None = None) -> Tensor:
    """Each image (B, C, H, W) moved by a whole number of pixels in [-pad, pad] along each axis,
    its border repeated into the gap."""
    if pad <= 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    offsets = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator, device="cpu").tolist()
    return torch.stack([padded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(offsets)])


class SpatialSoftmax(nn.Module):
    """Feature maps (B, C, H, W) -> the expected image position of each of `keypoints` learnt
    maps, (B, 2 * keypoints) in [-1, 1] (x then y per keypoint)."""

    def __init__(self, channels: int, keypoints: int):
        super().__init__()
        self.project = nn.Conv2d(channels, keypoints, kernel_size=1)

    def forward(self, features: Tensor) -> Tensor:
        maps = self.project(features)
        b, k, h, w = maps.shape
        weights = maps.flatten(2).softmax(-1).view(b, k, h, w)
        xs = torch.linspace(-1.0, 1.0, w, device=maps.device, dtype=maps.dtype)
        ys = torch.linspace(-1.0, 1.0, h, device=maps.device, dtype=maps.dtype)
        x = (weights.sum(2) * xs).sum(-1)
        y = (weights.sum(3) * ys).sum(-1)
        return torch.stack([x, y], dim=-1).flatten(1)


class CameraEncoder(nn.Module):
    """One camera's normalized image (B, 3, H, W) -> (B, 2 * keypoints)."""

    def __init__(self, channels: int, keypoints: int):
        super().__init__()
        self.convolutions = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.keypoints = SpatialSoftmax(channels, keypoints)

    def forward(self, images: Tensor) -> Tensor:
        return self.keypoints(self.convolutions(images))
