import json

import pytest

from kiwi_common.features import ENVIRONMENT_NAMES, MOTOR_NAMES
from kiwi_common.normalization import floor_dataset_stats, floor_for, floored


def test_every_named_entry_has_a_floor_in_its_units():
    assert floor_for("arm_elbow_flex.pos") == 5.0 and floor_for("arm_gripper.pos") == 5.0
    assert floor_for("x.vel") == 0.02 and floor_for("theta.vel") == 5.0
    assert all(floor_for(n) > 0 for n in (*MOTOR_NAMES, *ENVIRONMENT_NAMES))
    assert floor_for("intervention") == 0.0, "unknown entries keep their spread"


def test_a_tiny_spread_is_raised_and_a_wide_one_kept():
    stats = {
        "mean": [0.04, 0.1],
        "std": [0.16, 0.3],
        "min": [-0.5, -0.123456789],
        "max": [0.6, 0.3456789],
        "count": [100],
        "q01": [-0.4, -0.19],
    }
    out = floored(stats, ["theta.vel", "y.vel"])
    assert out["std"] == [5.0, 0.3]
    assert out["min"][0] == pytest.approx(0.05 - 5.0) and out["max"][0] == pytest.approx(0.05 + 5.0)
    assert (out["min"][1], out["max"][1]) == (-0.123456789, 0.3456789), "kept exactly"
    assert out["mean"] == stats["mean"] and out["count"] == [100] and out["q01"] == stats["q01"]
    assert stats["std"] == [0.16, 0.3], "the input is not changed"


def test_a_datasets_stats_file_is_rewritten_for_named_vectors_only(tmp_path):
    meta = tmp_path / "meta"
    meta.mkdir()
    features = {
        "action": {"dtype": "float32", "shape": [2], "names": ["x.vel", "theta.vel"]},
        "observation.images.front": {
            "dtype": "video",
            "shape": [4, 4, 3],
            "names": ["height", "width", "channels"],
        },
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    }
    image = {"mean": [[[0.5]]] * 3, "std": [[[0.001]]] * 3, "min": [[[0.0]]] * 3, "max": [[[1.0]]] * 3}
    stats = {
        "action": {"mean": [0.1, 0.0], "std": [0.08, 0.001], "min": [0.0, 0.0], "max": [0.2, 0.0]},
        "observation.images.front": image,
        "timestamp": {"mean": [1.0], "std": [0.5], "min": [0.0], "max": [2.0]},
    }
    (meta / "info.json").write_text(json.dumps({"features": features}))
    (meta / "stats.json").write_text(json.dumps(stats))
    floor_dataset_stats(tmp_path)
    out = json.loads((meta / "stats.json").read_text())
    assert out["action"]["std"] == [0.08, 5.0] and out["action"]["max"] == [0.2, 5.0]
    assert out["observation.images.front"] == image and out["timestamp"] == stats["timestamp"]
