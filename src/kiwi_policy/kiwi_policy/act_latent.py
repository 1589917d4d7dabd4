"""ACT with its latent drawn from the prior once per episode.

LeRobot's ACT is trained as a conditional VAE, but at inference it feeds the decoder the prior's
mean, a zero latent: its plan is then a function of the observation alone, and of demonstrations
that split between two ways it follows one. Drawing z ~ N(0, I) (the prior the KL term pulls the
encoder to) once per episode and keeping it lets the same observation lead to different, each
coherent, plans from episode to episode. The draw replaces the zeros where LeRobot projects them
into the transformer (`encoder_latent_input_proj`, wrapped in place), so ACT computes nothing else
differently. The wrapped policy is for running, not for saving (its state_dict keys change).
"""

from __future__ import annotations

LATENT_MODES = ("zero", "episode")


class LatentError(ValueError):
    pass


def episode_latent(policy, seed: int | None = None):
    """Wrap `policy`'s latent projection so that, outside training, it projects the latent of the
    current episode instead of zeros; returns the wrapper (call `draw()` at every episode start)."""
    import torch

    config = policy.config
    if getattr(config, "type", None) != "act":
        raise LatentError(f"act_latent:=episode is for ACT; this checkpoint is {config.type!r}")
    if not config.use_vae:
        raise LatentError(
            "act_latent:=episode: this ACT was trained without its VAE (use_vae false): no latent"
        )

    class EpisodeLatent(torch.nn.Module):
        def __init__(self, projection: torch.nn.Linear) -> None:
            super().__init__()
            self.projection = projection
            self.generator = torch.Generator().manual_seed(seed) if seed is not None else torch.Generator()
            self.z = None

        def draw(self) -> None:
            self.z = torch.randn(1, config.latent_dim, generator=self.generator)

        def forward(self, latent):
            if self.training:  # the VAE encoder's sample, as LeRobot trains
                return self.projection(latent)
            return self.projection(self.z.to(latent.device, latent.dtype).expand(latent.shape[0], -1))

    wrapper = EpisodeLatent(policy.model.encoder_latent_input_proj)
    policy.model.encoder_latent_input_proj = wrapper
    wrapper.draw()
    return wrapper
