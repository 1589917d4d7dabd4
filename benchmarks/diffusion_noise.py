"""Where Diffusion's sampler starts, and what it does to success: a Diffusion checkpoint in Kiwi's env
evaluation (the policy node's chunk timing) on the same layouts at each scale of the noise its
sampler starts from at every chunk (the policy node's `diffusion_noise`: 1, LeRobot's draw; 0, no
draw). Each scale's strict success and lifted count, and McNemar's exact test against the first
scale on the same layouts.

    .venv/bin/python benchmarks/diffusion_noise.py MODEL [--seeds 5000 5030] [--scales 1 0]

Development layouts by default (a diagnosis); `--seeds 900000 900100` scores the held-out ones. The
episodes run on every core, as `kiwi demo` evaluates: about 4 min per scale for 100 layouts on 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", type=Path, help="a Diffusion `pretrained_model` folder")
    p.add_argument("--seeds", type=int, nargs=2, default=(5000, 5030), metavar=("FIRST", "END"))
    p.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.0])
    args = p.parse_args()

    from kiwi_experiments.env_runs import MAX_TICKS, evaluation_summaries, usable_cores
    from kiwi_experiments.statistics import mcnemar_exact, paired_outcomes, rate_text

    seeds = list(range(*args.seeds))
    scales = list(dict.fromkeys(args.scales))  # each once
    first, outcomes = scales[0], {}
    for scale in scales:
        summaries = list(
            evaluation_summaries(args.model, seeds, MAX_TICKS, workers=usable_cores(), diffusion_noise=scale)
        )
        outcomes[scale] = {s["seed"]: s["success"] for s in summaries}
        strict, lifted = sum(outcomes[scale].values()), sum(s["lifted"] for s in summaries)
        against = ""
        if scale != first:
            pairs = paired_outcomes(outcomes[scale], outcomes[first])
            p_value = mcnemar_exact(pairs["only_first"], pairs["only_second"])
            against = (
                f", against {first:g}: +{pairs['only_first']} / -{pairs['only_second']}, p = {p_value:.2g}"
            )
        print(
            f"diffusion_noise {scale:g}: strict {rate_text(strict, len(seeds))}, "
            f"lifted {lifted}/{len(seeds)}{against}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
