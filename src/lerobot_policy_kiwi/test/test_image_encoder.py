"""kiwi_mlp's camera encoder: the random shift moves whole images by at most `pad` pixels, the
spatial softmax finds where a feature map peaks, and a policy that sees only an image learns an
action that depends on where a bright square sits in it."""

import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot_policy_kiwi.configuration_kiwi_mlp import KiwiMlpConfig
from lerobot_policy_kiwi.image_encoder import SpatialSoftmax, random_shift
from lerobot_policy_kiwi.modeling_kiwi_mlp import KiwiMlpPolicy

H, W = 24, 32
CAMERA = "observation.images.front"


def test_random_shift_moves_each_image_whole_by_at_most_pad_pixels():
    images = torch.zeros(200, 1, H, W)
    images[:, 0, 10, 12] = 1.0  # one lit pixel, away from the border
    shifted = random_shift(images, pad=3, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    lit = shifted[:, 0].flatten(1).argmax(-1)
    dy, dx = lit // W - 10, lit % W - 12
    assert shifted.sum(dim=(1, 2, 3)).eq(1.0).all(), "the pixel moved, not smeared or lost"
    assert dy.abs().max() == 3 and dx.abs().max() == 3, "every shift up to pad is drawn"
    assert len({(int(a), int(b)) for a, b in zip(dy, dx)}) > 30, "shifts differ between images"
    assert random_shift(images, pad=0) is images


def test_random_shift_repeats_the_border_into_the_gap():
    ramp = torch.arange(W, dtype=torch.float32).expand(8, 1, H, W).clone()
    shifted = random_shift(ramp, pad=4, generator=torch.Generator().manual_seed(1))
    assert shifted.min() == 0 and shifted.max() == W - 1, "no zeros or new values padded in"


def test_spatial_softmax_finds_the_peak_of_each_map():
    keypoints = SpatialSoftmax(channels=2, keypoints=2)
    with torch.no_grad():
        keypoints.project.weight.copy_(torch.eye(2).view(2, 2, 1, 1) * 50.0)
        keypoints.project.bias.zero_()
    maps = torch.zeros(1, 2, H, W)
    maps[0, 0, 0, W - 1] = 1.0  # top right
    maps[0, 1, H - 1, 0] = 1.0  # bottom left
    x0, y0, x1, y1 = keypoints(maps)[0].tolist()
    assert (x0, y0) == pytest.approx((1.0, -1.0), abs=0.01)
    assert (x1, y1) == pytest.approx((-1.0, 1.0), abs=0.01)


def image_config(**kwargs) -> KiwiMlpConfig:
    return KiwiMlpConfig(
        chunk_size=2,
        n_action_steps=2,
        hidden_dim=64,
        image_channels=8,
        keypoints=4,
        shift_pad=1,
        device="cpu",
        input_features={CAMERA: PolicyFeature(FeatureType.VISUAL, (3, H, W))},
        output_features={"action": PolicyFeature(FeatureType.ACTION, (1,))},
        **kwargs,
    )


def square_batch(n: int, generator: torch.Generator) -> dict:
    """A bright 4x4 square at a random column; the action is that column in [-1, 1]."""
    column = torch.randint(2, W - 6, (n,), generator=generator)
    images = torch.zeros(n, 3, H, W)
    for i, x in enumerate(column.tolist()):
        images[i, :, 10:14, x : x + 4] = 1.0
    target = ((column + 2).float() / (W - 1) * 2 - 1)[:, None, None].expand(n, 2, 1)
    return {CAMERA: images, "action": target.clone(), "action_is_pad": torch.zeros(n, 2, dtype=torch.bool)}


def test_a_policy_seeing_only_an_image_learns_where_the_square_is():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    policy = KiwiMlpPolicy(image_config())
    optimizer = torch.optim.Adam(policy.parameters(), 3e-3)
    policy.train()
    for _ in range(300):
        loss, _ = policy.forward(square_batch(32, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    batch = square_batch(100, torch.Generator().manual_seed(1))
    predicted = policy.predict_action_chunk(batch)
    error = (predicted - batch["action"]).abs().mean().item()
    spread = (batch["action"] - batch["action"].mean()).abs().mean().item()
    assert error < 0.2 * spread, f"mean error {error:.3f} against {spread:.3f} for a constant guess"
    assert torch.equal(predicted, policy.predict_action_chunk(batch)), "no shift at inference"
