"""The noise Diffusion's sampler starts from at every chunk (`diffusion_noise`): which scales a
checkpoint takes, and the one it runs at when none is asked.

LeRobot draws it from N(0, I) (scale 1). With a DDIM sampler (Kiwi's Diffusion preset) its steps
draw nothing more, so a smaller scale narrows the chunks it samples and 0 makes the chunk a
function of the observations. Kiwi runs a DDIM Diffusion at 0.5 unless told: far draws cost the
demo's task grasps (0 and 0.5 held more than 1), while 0 gave the textbook task's identical
starts one detour on most layouts and 0.5 still used both (docs/results/act-and-diffusion.md,
docs/results/bimodal.md). DDPM's steps add noise of their own, so only 1 stands there.
"""

from __future__ import annotations

import math

LEROBOTS = 1.0  # LeRobot's own draw
DDIM_DEFAULT = 0.5  # a DDIM Diffusion's scale when none is asked


class SamplerError(ValueError):
    pass


def sampler_noise(policy_type: str | None, scheduler: str | None, asked: float | None) -> float:
    """The scale a checkpoint of `policy_type` whose sampler is `scheduler` runs at when `asked`
    for one (None: DDIM_DEFAULT for a DDIM Diffusion, LeRobot's otherwise). SamplerError for a
    scale that is not a finite number >= 0, or not 1 where the policy is not a DDIM Diffusion."""
    ddim_diffusion = policy_type == "diffusion" and scheduler == "DDIM"
    if asked is None:
        return DDIM_DEFAULT if ddim_diffusion else LEROBOTS
    if not math.isfinite(asked) or asked < 0:
        raise SamplerError(f"diffusion_noise {asked:g}: a finite number >= 0 (1: LeRobot's sampler)")
    if asked == LEROBOTS or ddim_diffusion:
        return asked
    if policy_type != "diffusion":
        raise SamplerError(f"diffusion_noise is for Diffusion, not {policy_type!r}")
    raise SamplerError(
        f"diffusion_noise is for a DDIM sampler (Kiwi's preset), not {scheduler}, whose steps draw noise "
        "of their own"
    )
