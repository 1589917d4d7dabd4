"""The kiwi_mlp policy on a synthetic bimodal task: from the same state, half the demonstrated
chunks go up (+1) and half down (-1). The MSE head learns their mean (0, which no demonstration
did); the mixture head learns both and, sampled, commits to one of them per chunk."""

import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies import get_policy_class, make_policy_config
from lerobot_policy_kiwi.configuration_kiwi_mlp import KiwiMlpConfig
from lerobot_policy_kiwi.modeling_kiwi_mlp import KiwiMlpPolicy, choose_modes, chunk_errors

CHUNK, ACTION_DIM = 4, 2


def config(head: str, **kwargs) -> KiwiMlpConfig:
    return KiwiMlpConfig(
        head=head,
        chunk_size=CHUNK,
        n_action_steps=CHUNK,
        hidden_dim=64,
        device="cpu",
        input_features={
            "observation.state": PolicyFeature(FeatureType.STATE, (3,)),
            "observation.environment_state": PolicyFeature(FeatureType.ENV, (2,)),
        },
        output_features={"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))},
        **kwargs,
    )


def bimodal_batch(n: int, generator: torch.Generator) -> dict:
    """States near the origin; the chunk's first action dimension is +1 or -1 at random (the
    detour side), the second follows the state (something both modes share)."""
    state = torch.randn(n, 3, generator=generator) * 0.1
    side = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    action = torch.zeros(n, CHUNK, ACTION_DIM)
    action[..., 0] = side[:, None]
    action[..., 1] = state[:, :1]
    return {
        "observation.state": state,
        "observation.environment_state": torch.zeros(n, 2),
        "action": action,
        "action_is_pad": torch.zeros(n, CHUNK, dtype=torch.bool),
    }


def trained(head: str, steps: int = 400, batches=bimodal_batch, **kwargs) -> KiwiMlpPolicy:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    policy = KiwiMlpPolicy(config(head, **kwargs))
    optimizer = torch.optim.Adam(policy.parameters(), 3e-3)
    for _ in range(steps):
        loss, _ = policy.forward(batches(128, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return policy


def test_the_mse_head_predicts_the_mean_of_the_two_modes():
    policy = trained("mse")
    batch = bimodal_batch(200, torch.Generator().manual_seed(1))
    lateral = policy.predict_action_chunk(batch)[..., 0]
    assert lateral.abs().mean() < 0.2, "between the modes: the average of up and down"
    shared = policy.predict_action_chunk(batch)[..., 1]
    assert torch.allclose(shared, batch["action"][..., 1], atol=0.1), "what the modes share is learnt"


def mostly_shut_batch(n: int, generator: torch.Generator) -> dict:
    """The gripper at a held cube: 4 demonstrated chunks in 5 say shut (0), one opens (+1)."""
    batch = bimodal_batch(n, generator)
    opening = torch.rand(n, generator=generator) < 0.2
    batch["action"][..., 0] = opening.float()[:, None]
    return batch


def test_the_absolute_error_keeps_the_jaws_shut_where_the_squared_error_loosens_them():
    batch = mostly_shut_batch(200, torch.Generator().manual_seed(1))
    squared = trained("mse", batches=mostly_shut_batch).predict_action_chunk(batch)[..., 0]
    absolute = trained("mse", batches=mostly_shut_batch, loss="l1").predict_action_chunk(batch)[..., 0]
    assert squared.mean() == pytest.approx(0.2, abs=0.07), "the mean: a fifth open"
    assert absolute.abs().mean() < 0.05, "the median: shut"


def test_the_mixture_head_recovers_both_modes_and_commits_to_one_per_chunk():
    policy = trained("mixture")
    batch = bimodal_batch(200, torch.Generator().manual_seed(1))
    chunks, probabilities = policy.predict_modes(batch)
    means = sorted(chunks[..., 0].mean(dim=(0, 2)).tolist())
    assert means == pytest.approx([-1.0, 1.0], abs=0.15), "one mode up, one down"
    assert probabilities.mean(0).tolist() == pytest.approx([0.5, 0.5], abs=0.15)
    lateral = policy.predict_action_chunk(batch)[..., 0]  # sampled: each chunk one whole mode
    assert (lateral.abs() > 0.8).all(), "no chunk between the modes"
    assert (lateral.sign() == lateral[:, :1].sign()).all(), "a chunk does not switch mode inside"
    up = (lateral[:, 0] > 0).float().mean()
    assert 0.3 < up < 0.7, f"both modes used ({up:.0%} up)"


def test_choose_modes_never_draws_an_unlikely_mode():
    probabilities = torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.15, 0.85]]).repeat(200, 1)
    chosen = choose_modes(probabilities, floor=0.2, generator=torch.Generator().manual_seed(0))
    assert (chosen[0::3] == 0).all() and (chosen[2::3] == 1).all()
    assert 0.35 < chosen[1::3].float().mean() < 0.65


def test_padded_steps_do_not_count():
    predicted = torch.zeros(1, 1, 3, 1)
    target = torch.tensor([[[1.0], [1.0], [9.0]]])
    is_pad = torch.tensor([[False, False, True]])
    assert chunk_errors(predicted, target, is_pad).item() == pytest.approx(1.0)
    target = torch.tensor([[[2.0], [2.0], [9.0]]])
    assert chunk_errors(predicted, target, is_pad, "mse").item() == pytest.approx(4.0)
    assert chunk_errors(predicted, target, is_pad, "l1").item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="loss must be one of mse, l1"):
        chunk_errors(predicted, target, is_pad, "huber")


def test_registered_with_lerobot_and_refuses_what_it_cannot_use():
    assert get_policy_class("kiwi_mlp") is KiwiMlpPolicy
    assert make_policy_config("kiwi_mlp", head="mixture").n_modes == 2
    with pytest.raises(ValueError, match="loss must be one of"):
        make_policy_config("kiwi_mlp", loss="huber")
    with pytest.raises(ValueError, match="head must be one of"):
        KiwiMlpConfig(head="gaussian")
    with pytest.raises(ValueError, match="shift_pad 0 or more"):
        KiwiMlpConfig(shift_pad=-1)
    no_inputs = config("mse")
    no_inputs.input_features = {}
    with pytest.raises(ValueError, match="needs observation.state, observation.environment_state or images"):
        KiwiMlpPolicy(no_inputs)
