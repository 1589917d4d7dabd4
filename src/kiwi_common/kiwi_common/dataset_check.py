"""A Kiwi dataset (LeRobotDataset v3 plus `meta/kiwi_mapping.json`) read or checked before use, with
one line saying what is wrong: LeRobot and Hugging Face datasets raise many kinds of errors, and log
their own, for a folder that is missing, cut short or corrupt."""

from __future__ import annotations

import json
import math
from pathlib import Path

from kiwi_common.features import INTERVENTION, MAPPING_FILE, Mapping, MappingError
from kiwi_common.native_output import loggers_silenced

LIBRARY_LOGGERS = ("datasets", "lerobot", "fsspec")


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names it and the problem."""


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def read_metadata(root: Path):
    """LeRobot's metadata of the dataset at `root` (info, stats, tasks, episodes)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata

    root = Path(root)
    if not (root / "meta" / "info.json").is_file():
        raise DatasetError(f"{root} is not a LeRobot dataset (no meta/info.json)")
    # LeRobot fetches a missing meta file from the Hub: name it here instead.
    for part in ("meta/tasks.parquet", "meta/episodes"):
        if not (root / part).exists():
            raise DatasetError(f"{root} lacks {part}: not a whole LeRobot v3 dataset")
    try:
        with loggers_silenced(*LIBRARY_LOGGERS):
            meta = LeRobotDatasetMetadata("kiwi/local", root=root)
            # Read now what is read lazily later, where a broken info.json would raise anything.
            for feature in meta.features.values():
                if not isinstance(feature, dict) or not isinstance(feature["shape"], (list, tuple)):
                    raise ValueError(f"a feature is not a dict with a shape: {feature!r}"[:200])
            _ = meta.video_keys, meta.camera_keys, int(meta.total_frames), int(meta.total_episodes)
            if not float(meta.fps) > 0:
                raise ValueError(f"fps {meta.fps!r}")
            return meta
    except Exception as exc:  # LeRobot raises several types for a broken meta/ folder
        raise DatasetError(f"cannot read the dataset {root}: {_first_line(exc)}") from exc


def read_episodes(root: Path, episodes: list[int] | None = None):
    """LeRobot's dataset at `root` (the given episodes, default all)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    try:
        with loggers_silenced(*LIBRARY_LOGGERS):
            return LeRobotDataset("kiwi/local", root=root, episodes=episodes)
    except Exception as exc:  # missing or corrupt data files; LeRobot raises several types
        raise DatasetError(f"cannot read the data of {root}: {_first_line(exc)}") from exc


def check_for_training(root: Path) -> Mapping:
    """Everything training will read, read once: the metadata, the mapping (and that the dataset
    has its features), every data file (its rows, finite numbers) and the statistics. Returns the
    mapping."""
    import numpy as np
    import pyarrow.parquet as pq

    root = Path(root)
    meta = read_metadata(root)
    try:
        mapping = Mapping.load(root / "meta" / MAPPING_FILE)
    except MappingError as exc:
        raise DatasetError(
            f"{root}: {exc} (convert the bags with `kiwi convert`, which writes it, or copy a mapping "
            "there) so the policy node knows the robot's topics"
        ) from None
    expected = {
        k: list(v["shape"])
        for k, v in mapping.features(use_videos=bool(meta.video_keys)).items()
        if k != INTERVENTION  # optional: a LeRobot recording has none
    }
    found = {k: list(v["shape"]) for k, v in meta.features.items() if k in expected}
    if found != expected:
        missing = sorted(set(expected) - set(found))
        reshaped = sorted(k for k in found if found[k] != expected[k])
        raise DatasetError(
            f"{root}: its features do not match its {MAPPING_FILE}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; other shapes for {', '.join(reshaped)}" if reshaped else "")
        )
    numeric = [k for k, v in meta.features.items() if v.get("dtype") in ("float32", "float64")]
    files = sorted((root / "data").rglob("*.parquet"))
    if not files:
        raise DatasetError(f"{root}: no data files (data/**/*.parquet)")
    rows = 0
    for path in files:
        try:
            absent = [k for k in numeric if k not in pq.read_schema(path).names]
            if absent:
                raise DatasetError(f"{path}: no column {', '.join(absent)}")
            table = pq.read_table(path, columns=numeric)  # not the images of a dataset without videos
            for key in numeric:
                values = np.asarray(table.column(key).to_pylist(), dtype=np.float64)
                if not np.isfinite(values).all():
                    raise DatasetError(f"{path}: {key} has a value that is not a finite number")
        except DatasetError:
            raise
        except Exception as exc:  # pyarrow raises several types for a damaged file; ragged values
            raise DatasetError(f"{path}: not a readable data file: {_first_line(exc)}") from exc
        rows += table.num_rows
    if rows != meta.total_frames:
        raise DatasetError(f"{root}: {rows} frames in its data files, {meta.total_frames} in meta/info.json")
    try:
        stats = json.loads((root / "meta" / "stats.json").read_text())
        finite = all(
            math.isfinite(float(x))
            for feature in stats.values()
            for v in feature.values()
            for x in np.ravel(v)
        )
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{root}/meta/stats.json: unreadable ({_first_line(exc)})") from exc
    if not finite:
        raise DatasetError(f"{root}/meta/stats.json: a statistic is not a finite number")
    return mapping
