"""One chunk of actions from the latest observations, the way LeRobot's own inference prepares them.

Each observation (numpy, LeRobot's units and names) goes through LeRobot's
`prepare_observation_for_inference` and the checkpoint's preprocessor; policies that look at
`n_obs_steps` > 1 observations (Diffusion) get them stacked on the time axis, the oldest repeated
while fewer exist (as LeRobot's queues do at an episode's start). `predict_action_chunk` gives
normalized actions; the postprocessor turns the first `n_action_steps` into LeRobot units.

Diffusion's sampler starts from Gaussian noise at every chunk (LeRobot's); `diffusion_noise` scales
that noise, for a DDIM sampler (Kiwi's preset; its steps draw nothing more; 0.5 unless told,
`sampler_noise.py`): 0 makes it deterministic: every chunk follows the denoiser's path from the
origin, the centre of the distribution it starts from, instead of a random draw that lands
anywhere in the learned spread.
"""

from __future__ import annotations

import numpy as np

from .checkpoint import LoadedPolicy
from .sampler_noise import LEROBOTS, sampler_noise


class ChunkPredictor:
    def __init__(
        self,
        loaded: LoadedPolicy,
        task: str = "",
        threads: int = 1,
        act_latent: str = "zero",
        seed: int | None = None,
        diffusion_noise: float | None = None,
    ):
        """`act_latent`: zero (LeRobot's ACT inference) or episode (an ACT latent drawn from the
        prior at every reset, `act_latent.py`; `seed` makes the draws repeatable).
        `diffusion_noise`: the scale of the noise Diffusion's sampler starts from (1: LeRobot's;
        None: the checkpoint's default, `sampler_noise`)."""
        import torch

        from .act_latent import LATENT_MODES, LatentError, episode_latent

        torch.set_num_threads(max(1, int(threads)))  # more than the free cores stalls OpenMP (see README)
        self.loaded = loaded
        self.task = task
        self.device = torch.device(loaded.config.device or "cpu")
        if act_latent not in LATENT_MODES:
            raise LatentError(f"act_latent {act_latent!r}: one of {', '.join(LATENT_MODES)}")
        self.latent = episode_latent(loaded.policy, seed) if act_latent == "episode" else None
        config = loaded.policy.config
        self.diffusion_noise = sampler_noise(
            config.type, getattr(config, "noise_scheduler_type", None), diffusion_noise
        )
        # LeRobot's own draw where it stands; else the noise (one chunk's) is drawn here and scaled.
        self.noise_shape = (
            None if self.diffusion_noise == LEROBOTS else (1, config.horizon, config.action_feature.shape[0])
        )
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
