"""Floors under a dataset's normalization statistics, in each feature's own units.

LeRobot's policies normalize every feature by the spread its dataset shows (std, or min..max). A
feature a teacher barely varied gets a tiny spread: the expert never turns the base, so its
`theta.vel` has a std of 0.16 deg/s, and the resting cube's height 1.7 mm. Scaled by that, a
slow drift the sim measures (1 deg/s) is an input 6 stds out, and a correction that turns the
base back (30 deg/s) a target 190 stds out: a few correction frames then outweigh every
demonstration in the loss, and the policy copies its own drift. So each spread is raised to at
least the smallest difference that matters for the feature (`floor_for`), and the rest of the
statistics (means, counts, quantiles) stay what the data gave.
"""

from __future__ import annotations

import json
from pathlib import Path

# Per unit: LeRobot's arm positions (`*.pos`) are degrees (the gripper 0..100), base speeds m/s,
# the turn deg/s; the environment state metres (positions, the cube's height) and unitless yaw terms.
JOINT_FLOOR = 5.0
FLOORS = {
    "x.vel": 0.02,
    "y.vel": 0.02,
    "theta.vel": 5.0,
    "cube.x": 0.02,
    "cube.y": 0.02,
    "cube.z": 0.01,
    "cube.yaw4_sin": 0.1,
    "cube.yaw4_cos": 0.1,
    "obstacle.x": 0.02,
    "obstacle.y": 0.02,
    "obstacle.present": 0.5,
}
STATS_FILE = Path("meta") / "stats.json"


def floor_for(name: str) -> float:
    """The smallest spread feature entry `name` is normalized by (0: none known)."""
    return FLOORS.get(name, JOINT_FLOOR if name.endswith(".pos") else 0.0)


def floored(stats: dict, names: list[str]) -> dict:
    """One feature's statistics with each entry's std at least its floor and its min..max at least
    twice it wide (widened about its middle)."""
    floors = [floor_for(n) for n in names]
    out = dict(stats)
    if "std" in stats:
        out["std"] = [max(s, f) for s, f in zip(stats["std"], floors, strict=True)]
    if "min" in stats and "max" in stats:
        lows, highs = [], []
        for lo, hi, f in zip(stats["min"], stats["max"], floors, strict=True):
            if hi - lo < 2 * f:  # widened about its middle; a wide enough range stays exact
                lo, hi = (lo + hi) / 2 - f, (lo + hi) / 2 + f
            lows.append(lo)
            highs.append(hi)
        out["min"], out["max"] = lows, highs
    return out


def floor_dataset_stats(root: Path) -> None:
    """Rewrite a LeRobot dataset's `meta/stats.json` with every named feature's spreads floored."""
    root = Path(root)
    features = json.loads((root / "meta" / "info.json").read_text())["features"]
    stats = json.loads((root / STATS_FILE).read_text())
    for key, feature in features.items():
        names = feature.get("names")
        vector = feature["dtype"].startswith("float") and len(feature["shape"]) == 1
        if key in stats and vector and isinstance(names, list) and len(names) == feature["shape"][0]:
            stats[key] = floored(stats[key], names)
    (root / STATS_FILE).write_text(json.dumps(stats, indent=4))
