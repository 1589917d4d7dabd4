"""The noise Diffusion's sampler starts from (`diffusion_noise`): 1 is LeRobot's own draw, 0 a chunk
that depends on the observations alone, and between them (0.5, a DDIM Diffusion's default) a
narrower spread of chunks."""

import math

import numpy as np
import pytest
import torch

from kiwi_policy.inference import ChunkPredictor
from kiwi_policy.sampler_noise import SamplerError, sampler_noise


def tiny_diffusion(scheduler: str = "DDIM"):
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig
    from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy

    config = DiffusionConfig(
        input_features={
            "observation.state": PolicyFeature(FeatureType.STATE, (9,)),
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (8,)),
        },
        output_features={"action": PolicyFeature(FeatureType.ACTION, (9,))},
        n_obs_steps=2,
        horizon=8,
        n_action_steps=4,
        down_dims=(16, 32),
        kernel_size=3,
        n_groups=4,
        diffusion_step_embed_dim=16,
        noise_scheduler_type=scheduler,
        num_train_timesteps=20,
        num_inference_steps=4,
        device="cpu",
    )
    torch.manual_seed(0)
    policy = DiffusionPolicy(config)
    policy.eval()
    return policy


def predictor_for(policy, diffusion_noise: float | None) -> ChunkPredictor:
    from kiwi_common.features import Mapping
    from kiwi_policy.checkpoint import LoadedPolicy

    loaded = LoadedPolicy(None, policy.config, policy, lambda b: b, lambda a: a, Mapping().state_only())
    return ChunkPredictor(loaded, diffusion_noise=diffusion_noise)


OBSERVATIONS = [
    {
        "observation.state": np.linspace(-1, 1, 9, dtype=np.float32) + 0.1 * k,
        "observation.environment_state": np.linspace(0, 1, 8, dtype=np.float32),
    }
    for k in range(2)
]


def chunks(predictor: ChunkPredictor, draws: int) -> np.ndarray:
    return np.stack([predictor.predict(OBSERVATIONS) for _ in range(draws)])


def lerobots_chunk(policy, noise=None) -> np.ndarray:
    batch = {key: torch.from_numpy(np.stack([o[key] for o in OBSERVATIONS]))[None] for key in OBSERVATIONS[0]}
    with torch.inference_mode():
        return policy.predict_action_chunk(batch, noise=noise)[0, : policy.config.n_action_steps].numpy()


def test_a_scale_scales_the_draw_lerobot_makes():
    policy = tiny_diffusion()
    torch.manual_seed(7)
    ours = predictor_for(policy, 1.0).predict(OBSERVATIONS)
    torch.manual_seed(7)
    np.testing.assert_array_equal(ours, lerobots_chunk(policy), "1: LeRobot's own draw")
    torch.manual_seed(7)
    half = predictor_for(policy, 0.5).predict(OBSERVATIONS)
    torch.manual_seed(7)
    np.testing.assert_array_equal(half, lerobots_chunk(policy, 0.5 * torch.randn(1, 8, 9)))
    assert not np.allclose(half, ours)


def test_zero_noise_gives_one_chunk_per_observation():
    policy = tiny_diffusion()
    torch.manual_seed(1)
    zero = chunks(predictor_for(policy, 0.0), 3)
    assert np.array_equal(zero[0], zero[1]) and np.array_equal(zero[0], zero[2])
    sampled = chunks(predictor_for(policy, 1.0), 3)
    assert not np.allclose(sampled[0], sampled[1]), "LeRobot's sampler draws anew at every chunk"
    assert not np.allclose(sampled[0], zero[0])


def test_a_smaller_scale_narrows_the_spread_of_chunks():
    policy = tiny_diffusion()
    torch.manual_seed(2)
    spread = {scale: chunks(predictor_for(policy, scale), 16).std(axis=0).mean() for scale in (1.0, 0.25)}
    assert spread[0.25] < 0.8 * spread[1.0]  # not in proportion: the untrained denoiser is not linear


def test_unless_told_ddim_samples_from_half_the_noise_and_ddpm_as_lerobot():
    policy = tiny_diffusion()
    torch.manual_seed(3)
    default = chunks(predictor_for(policy, None), 2)
    torch.manual_seed(3)
    np.testing.assert_array_equal(default, chunks(predictor_for(policy, 0.5), 2))
    torch.manual_seed(3)
    assert not np.allclose(default, chunks(predictor_for(policy, 1.0), 2)), "not LeRobot's draw"
    ddpm = tiny_diffusion("DDPM")
    torch.manual_seed(4)
    ours = predictor_for(ddpm, None).predict(OBSERVATIONS)
    torch.manual_seed(4)
    np.testing.assert_array_equal(ours, lerobots_chunk(ddpm), "DDPM: LeRobot's own sampler")


def test_the_scale_each_policy_takes():
    assert sampler_noise("diffusion", "DDIM", None) == 0.5
    assert sampler_noise("diffusion", "DDPM", None) == 1.0
    assert sampler_noise("act", None, None) == 1.0
    assert sampler_noise("diffusion", "DDIM", 0.25) == 0.25
    for policy, scheduler in (
        ("diffusion", "DDIM"),
        ("diffusion", "DDPM"),
        ("act", None),
        ("kiwi_mlp", None),
    ):
        assert sampler_noise(policy, scheduler, 1.0) == 1.0, "LeRobot's own draw: any policy runs at it"
    for bad in (-0.5, math.nan, math.inf):
        with pytest.raises(SamplerError, match="finite number >= 0"):
            sampler_noise("diffusion", "DDIM", bad)
    with pytest.raises(SamplerError, match="for a DDIM sampler .* not DDPM, whose steps draw noise"):
        sampler_noise("diffusion", "DDPM", 0.0)
    with pytest.raises(SamplerError, match="for Diffusion, not 'act'"):
        sampler_noise("act", None, 0.0)
