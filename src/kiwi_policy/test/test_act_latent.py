"""ACT with a latent drawn per episode: the same observation gives one plan within an episode and
others across episodes; the zero latent (LeRobot's) stays as it was; training is untouched."""

import pytest
import torch

from kiwi_policy.act_latent import LatentError, episode_latent


def tiny_act(use_vae=True):
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy

    config = ACTConfig(
        input_features={
            "observation.state": PolicyFeature(FeatureType.STATE, (9,)),
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (8,)),
        },
        output_features={"action": PolicyFeature(FeatureType.ACTION, (9,))},
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_decoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=8,
        chunk_size=5,
        n_action_steps=5,
        use_vae=use_vae,
        device="cpu",
    )
    torch.manual_seed(0)
    policy = ACTPolicy(config)
    policy.eval()
    return policy


def batch():
    return {
        "observation.state": torch.linspace(-1, 1, 9).reshape(1, 9),
        "observation.environment_state": torch.linspace(0, 1, 8).reshape(1, 8),
    }


def chunk(policy):
    with torch.inference_mode():
        return policy.predict_action_chunk(batch())


def test_one_plan_per_episode_and_another_next_episode():
    policy = tiny_act()
    zero = chunk(policy)
    assert torch.equal(zero, chunk(policy)), "LeRobot's zero latent: a function of the observation"
    latent = episode_latent(policy, seed=3)
    first = chunk(policy)
    assert torch.equal(first, chunk(policy)), "one latent for the whole episode"
    assert not torch.allclose(first, zero)
    latent.draw()
    assert not torch.allclose(chunk(policy), first), "a new episode, a new latent, another plan"
    # The same seed draws the same latents: an evaluation can be repeated.
    again = tiny_act()
    episode_latent(again, seed=3)
    assert torch.equal(chunk(again), first)


def test_training_still_uses_the_vae_encoders_latent():
    policy = tiny_act()
    latent = episode_latent(policy, seed=0)
    policy.train()
    x = torch.randn(4, 8)
    assert torch.equal(latent(x), latent.projection(x))
    policy.eval()
    assert torch.equal(latent(x)[0], latent(torch.zeros(4, 8))[0]), "outside training the input is ignored"


def test_only_an_act_with_its_vae_has_a_latent():
    with pytest.raises(LatentError, match="without its VAE"):
        episode_latent(tiny_act(use_vae=False))

    class NotAct:
        config = type("Config", (), {"type": "diffusion"})()

    with pytest.raises(LatentError, match="for ACT"):
        episode_latent(NotAct())


def test_the_predictor_draws_a_latent_at_each_reset():
    import numpy as np

    from kiwi_common.features import Mapping
    from kiwi_policy.checkpoint import LoadedPolicy
    from kiwi_policy.inference import ChunkPredictor

    policy = tiny_act()
    loaded = LoadedPolicy(None, policy.config, policy, lambda b: b, lambda a: a, Mapping().state_only())
    observation = {k: v[0].numpy() for k, v in batch().items()}
    predictor = ChunkPredictor(loaded, act_latent="episode", seed=1)
    first = predictor.predict([observation])
    assert np.array_equal(predictor.predict([observation]), first)
    predictor.reset()
    assert not np.allclose(predictor.predict([observation]), first)
    with pytest.raises(LatentError, match="one of zero, episode"):
        ChunkPredictor(loaded, act_latent="sometimes")
