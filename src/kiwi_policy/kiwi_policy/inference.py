"""One chunk of actions from the latest observations, the way LeRobot's own inference prepares them.

Each observation (numpy, LeRobot's units and names) goes through LeRobot's
`prepare_observation_for_inference` and the checkpoint's preprocessor; policies that look at
`n_obs_steps` > 1 observations (Diffusion) get them stacked on the time axis, the oldest repeated
while fewer exist (as LeRobot's queues do at an episode's start). `predict_action_chunk` gives
normalized actions; the postprocessor turns the first `n_action_steps` into LeRobot units.

Diffusion's sampler starts from Gaussian noise at every chunk (LeRobot's); `diffusion_noise` scales
that noise, for a DDIM sampler (Kiwi's preset; its steps draw nothing more): 0 makes it
deterministic: every chunk follows the denoiser's path from the origin, the centre of the
distribution it starts from, instead of a random draw that lands anywhere in the learned spread.
"""

from __future__ import annotations

import math

import numpy as np

from .checkpoint import LoadedPolicy


class ChunkPredictor:
    def __init__(
        self,
        loaded: LoadedPolicy,
        task: str = "",
        threads: int = 1,
        act_latent: str = "zero",
        seed: int | None = None,
        diffusion_noise: float = 1.0,
    ):
        """`act_latent`: zero (LeRobot's ACT inference) or episode (an ACT latent drawn from the
        prior at every reset, `act_latent.py`; `seed` makes the draws repeatable).
        `diffusion_noise`: the scale of the noise Diffusion's sampler starts from (1: LeRobot's)."""
        import torch

        from .act_latent import LATENT_MODES, LatentError, episode_latent

        torch.set_num_threads(max(1, int(threads)))  # more than the free cores stalls OpenMP (see README)
        self.loaded = loaded
        self.task = task
        self.device = torch.device(loaded.config.device or "cpu")
        if act_latent not in LATENT_MODES:
            raise LatentError(f"act_latent {act_latent!r}: one of {', '.join(LATENT_MODES)}")
        self.latent = episode_latent(loaded.policy, seed) if act_latent == "episode" else None
        self.noise_shape = start_noise_shape(loaded.policy.config, diffusion_noise)
        self.diffusion_noise = diffusion_noise
        self.noise_dtype = next(loaded.policy.parameters()).dtype  # LeRobot draws in the weights' dtype

    @property
    def n_obs_steps(self) -> int:
        """How many of the latest observations, one per tick, `predict` reads (Diffusion: 2)."""
        return self.loaded.n_obs_steps

    @property
    def single_step(self) -> bool:
        """One action per chunk (the scheduler keeps it in force a while: `default_late_hold`)."""
        return self.loaded.n_action_steps == 1

    def reset(self) -> None:
        """A new episode: LeRobot's queues emptied (and a new ACT latent drawn, if asked)."""
        self.loaded.policy.reset()
        if self.latent is not None:
            self.latent.draw()

    def predict(self, observations: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Observations, oldest first -> actions (n_action_steps, action_dim) in LeRobot units."""
        import torch
        from lerobot.policies.utils import prepare_observation_for_inference

        if not observations:
            raise ValueError("no observation to act on")
        n = self.loaded.n_obs_steps
        window = list(observations[-n:])
        window = [window[0]] * (n - len(window)) + window
        with torch.inference_mode():
            steps = [
                self.loaded.preprocessor(
                    prepare_observation_for_inference(
                        dict(obs), self.device, self.task, self.loaded.mapping.robot_type
                    )
                )
                for obs in window
            ]
            batch = (
                steps[-1]
                if n == 1
                else {
                    key: torch.stack([s[key] for s in steps], dim=1)
                    if isinstance(value, torch.Tensor)
                    else value
                    for key, value in steps[-1].items()
                }
            )
            if self.noise_shape is None:
                chunk = self.loaded.policy.predict_action_chunk(batch)
            else:  # drawn as LeRobot draws it (the global generator: an episode's seed repeats it), scaled
                noise = torch.randn(self.noise_shape, dtype=self.noise_dtype, device=self.device)
                chunk = self.loaded.policy.predict_action_chunk(batch, noise=self.diffusion_noise * noise)
            actions = chunk[:, : self.loaded.n_action_steps]
            actions = self.loaded.postprocessor(actions)
        return actions[0].detach().cpu().numpy().astype(np.float32)


class SamplerError(ValueError):
    pass


def start_noise_shape(config, scale: float) -> tuple[int, int, int] | None:
    """The shape of the noise Diffusion's sampler starts from, one chunk at a time, when `scale`
    changes LeRobot's; None where LeRobot's own draw stands (scale 1). SamplerError for a scale
    that is not a finite number >= 0, or not 1 for a checkpoint that is not Diffusion or whose
    sampler is not DDIM (DDPM's steps draw noise of their own: zero would not be deterministic)."""
    if not math.isfinite(scale) or scale < 0:
        raise SamplerError(f"diffusion_noise {scale}: a finite number >= 0 (1: LeRobot's sampler)")
    if scale == 1.0:
        return None
    if getattr(config, "type", None) != "diffusion":
        raise SamplerError(f"diffusion_noise is for Diffusion; this checkpoint is {config.type!r}")
    if config.noise_scheduler_type != "DDIM":
        raise SamplerError(
            f"diffusion_noise is for a DDIM sampler (Kiwi's preset); this checkpoint's is "
            f"{config.noise_scheduler_type}, whose steps draw noise of their own"
        )
    return (1, config.horizon, config.action_feature.shape[0])
