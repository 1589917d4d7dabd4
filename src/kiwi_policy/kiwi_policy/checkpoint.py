"""Find, check and load a LeRobot checkpoint, offline.

`model` is a path (a `pretrained_model/` folder, a checkpoint step folder, or a training output
folder, whose `checkpoints/last/pretrained_model` is used) or a bare name (`act`, `diffusion`,
...) looked up in `$KIWI_MODELS/<name>`, then in the workspace's `data/models/<name>`, where
`kiwi train` writes: the same under `kiwi launch`, `ros2 launch` and `ros2 run`, from any folder. The robot's mapping comes with the checkpoint (`kiwi train` copies the
dataset's `kiwi_mapping.json` next to the weights) and the checkpoint's features are checked
against it before any weight is loaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from kiwi_common.features import (
    ENVIRONMENT_NAMES,
    ENVIRONMENT_STATE,
    INTERVENTION,
    MAPPING_FILE,
    MOTOR_NAMES,
    Mapping,
    MappingError,
    image_feature,
)

MODELS_FOLDER = Path("data") / "models"  # under the workspace


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message says why and what was expected."""


def workspace_root(start: Path | None = None) -> Path | None:
    """The workspace Kiwi runs from: the first folder above this module that holds
    src/kiwi_policy. It is found the same way from a pip editable install (the source tree), a
    colcon --symlink-install (the links resolve into src/) and a plain colcon install
    (install/kiwi_policy/lib/... lies inside the workspace), whatever the current folder."""
    here = (start or Path(__file__)).resolve()
    for folder in here.parents:
        if (folder / "src" / "kiwi_policy" / "package.xml").is_file():
            return folder
    return None


def models_search_path() -> list[Path]:
    """Where a bare model name (`act`, `diffusion`, ...) is looked up, in order: $KIWI_MODELS,
    then the workspace's data/models."""
    path = [Path(os.environ["KIWI_MODELS"]).expanduser()] if os.environ.get("KIWI_MODELS") else []
    workspace = workspace_root()
    if workspace is not None:
        path.append(workspace / MODELS_FOLDER)
    return path or [MODELS_FOLDER]  # neither: installed outside a workspace, the current folder's


def models_root() -> Path:
    """Where `kiwi train` writes a model by default: the first folder of the search path."""
    return models_search_path()[0]


def is_bare_name(model: str) -> bool:
    """`act`, `my_run`: a name to look up; `./act`, `/x/act`, `~/act`: a path."""
    return os.sep not in model and not model.startswith((".", "~"))


def _pretrained_in(path: Path) -> Path | None:
    for candidate in (path, path / "pretrained_model", path / "checkpoints" / "last" / "pretrained_model"):
        if (candidate / "config.json").is_file() and (candidate / "model.safetensors").is_file():
            return candidate
    return None


def resolve_model(model: str) -> Path:
    """`model` (a path, or a bare name looked up along `models_search_path()`) -> the
    `pretrained_model` folder to load."""
    if not is_bare_name(model):
        path = Path(model).expanduser().absolute()
        found = _pretrained_in(path)
        if found is None:
            raise CheckpointError(f"no LeRobot checkpoint (config.json + model.safetensors) at {path}")
        return found
    places = [root / model for root in models_search_path()]
    for place in places:
        found = _pretrained_in(place)
        if found is not None:
            return found
    raise CheckpointError(
        f"no LeRobot checkpoint named {model!r}: looked in {', '.join(map(str, places))} "
        f"($KIWI_MODELS, then the workspace's {MODELS_FOLDER}); train one with: kiwi train DATASET "
        f"--policy {model}, or give a path (./{model} for a folder here)"
    )


def find_mapping(pretrained: Path) -> Mapping:
    """The mapping the policy was trained with: next to the weights, else in the training
    dataset named by train_config.json."""
    candidates = [pretrained / MAPPING_FILE]
    train_config = pretrained / "train_config.json"
    if train_config.is_file():
        try:
            root = json.loads(train_config.read_text()).get("dataset", {}).get("root")
        except (ValueError, AttributeError, OSError) as exc:
            raise CheckpointError(f"{train_config} is not LeRobot's training config: {exc}") from None
        if root:
            candidates.append(Path(root) / "meta" / MAPPING_FILE)
    for candidate in candidates:
        if candidate.is_file():
            try:
                return Mapping.load(candidate)
            except MappingError as exc:
                raise CheckpointError(f"{pretrained}: {exc}") from None
    raise CheckpointError(
        f"{pretrained}: no {MAPPING_FILE} with the checkpoint or in its training dataset "
        f"(looked at {', '.join(map(str, candidates))}); give the node a `mapping` file"
    )


def expected_shapes(mapping: Mapping) -> dict[str, tuple[int, ...]]:
    """What the robot provides, as a policy sees it: feature name -> shape (images channel-first)."""
    out = {"observation.state": (len(MOTOR_NAMES),), "action": (len(MOTOR_NAMES),)}
    for cam in mapping.cameras:
        h, w = mapping.image_shapes[cam]
        out[image_feature(cam)] = (3, h, w)
    if mapping.ground_truth:
        out[ENVIRONMENT_STATE] = (len(ENVIRONMENT_NAMES),)
    return out


def feature_mismatches(config, mapping: Mapping) -> list[str]:
    """Every way the checkpoint's input/output features differ from the robot's mapping."""
    return _mismatches(
        {name: (ft.type.value, tuple(ft.shape)) for name, ft in config.input_features.items()},
        {name: (ft.type.value, tuple(ft.shape)) for name, ft in config.output_features.items()},
        mapping,
    )


def _mismatches(inputs: dict, outputs: dict, mapping: Mapping) -> list[str]:
    """`feature_mismatches` on {name: (kind, shape)} of the inputs and outputs."""
    robot = expected_shapes(mapping)
    problems = []
    for name, (kind, shape) in {**inputs, **outputs}.items():
        if name == INTERVENTION:
            continue
        if name not in robot:
            problems.append(
                f"{name} {kind} {shape}: the robot's mapping has no such feature "
                f"(it has {', '.join(sorted(robot))})"
            )
        elif robot[name] != shape:
            problems.append(f"{name}: the checkpoint expects shape {shape}, the mapping gives {robot[name]}")
    if "action" not in outputs:
        problems.append("action: the checkpoint has no `action` output")
    return problems


def _safetensors_whole(path: Path) -> bool:
    """The file's header parses and its tensors end where the file ends (not cut, not padded)."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 2 <= size <= 100_000_000:
                return False
            header = json.loads(f.read(size))
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        return path.stat().st_size == 8 + size + max(ends, default=0)
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False


def check_checkpoint(model: str, mapping: Mapping | None = None) -> Path:
    """What loading `model` would read, checked without torch: its files are whole (JSON parses,
    safetensors end where their headers say) and its features fit the mapping. The
    pretrained_model folder; CheckpointError says what is wrong."""
    pretrained = resolve_model(model)
    try:
        config = json.loads((pretrained / "config.json").read_text())
        features = [
            {name: (ft["type"], tuple(ft["shape"])) for name, ft in config[key].items()}
            for key in ("input_features", "output_features")
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"{pretrained}/config.json is not a LeRobot policy config: {exc}") from None
    for processor in (pretrained / f"policy_{kind}processor.json" for kind in ("pre", "post")):
        try:
            steps = json.loads(processor.read_text())["steps"]
            state_files = [step["state_file"] for step in steps if "state_file" in step]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise CheckpointError(f"{processor}: not LeRobot's processor file ({exc})") from None
        for name in state_files:
            if not (pretrained / str(name)).is_file():
                raise CheckpointError(f"{processor}: its state file {name} is not in {pretrained}")
    for weights in sorted(pretrained.glob("*.safetensors")):
        if not _safetensors_whole(weights):
            raise CheckpointError(f"{weights}: damaged (cut short, or its header does not parse)")
    _raise_on_mismatch(pretrained, _mismatches(*features, mapping or find_mapping(pretrained)))
    return pretrained


def _raise_on_mismatch(pretrained: Path, problems: list[str]) -> None:
    if problems:
        raise CheckpointError(
            f"checkpoint {pretrained} does not fit the robot's mapping: " + "; ".join(problems)
        )


@dataclass
class LoadedPolicy:
    path: Path
    config: object
    policy: object
    preprocessor: object
    postprocessor: object
    mapping: Mapping

    @property
    def read_mapping(self) -> Mapping:
        """The mapping without what the policy does not read: the cameras among its input
        features, the ground truth only if it takes the environment state."""
        inputs = self.config.input_features
        cameras = [cam for cam in self.mapping.cameras if image_feature(cam) in inputs]
        return replace(
            self.mapping,
            cameras={cam: self.mapping.cameras[cam] for cam in cameras},
            image_shapes={cam: self.mapping.image_shapes[cam] for cam in cameras},
            ground_truth=self.mapping.ground_truth if ENVIRONMENT_STATE in inputs else {},
        )

    @property
    def n_obs_steps(self) -> int:
        return int(getattr(self.config, "n_obs_steps", 1) or 1)

    @property
    def n_action_steps(self) -> int:
        return int(getattr(self.config, "n_action_steps", 1) or 1)


def load_config(pretrained: Path):
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()  # policy types from lerobot_policy_* packages (kiwi_mlp), as LeRobot's scripts do

    try:
        return PreTrainedConfig.from_pretrained(pretrained)
    except Exception as exc:  # draccus/json errors of many kinds: name the file
        raise CheckpointError(f"{pretrained}/config.json is not a LeRobot policy config: {exc}") from exc


def load_policy(model: str, mapping: Mapping | None = None, device: str = "cpu") -> LoadedPolicy:
    """Resolve, check against the mapping, then load weights and processors (no network)."""
    from lerobot.policies import get_policy_class, make_pre_post_processors

    pretrained = resolve_model(model)
    config = load_config(pretrained)
    mapping = mapping or find_mapping(pretrained)
    _raise_on_mismatch(pretrained, feature_mismatches(config, mapping))
    if hasattr(config, "pretrained_backbone_weights"):
        config.pretrained_backbone_weights = None  # the weights come from model.safetensors; no download
    config.device = device
    policy = get_policy_class(config.type).from_pretrained(pretrained, config=config)
    policy.eval()
    pre, post = make_pre_post_processors(
        config, pretrained_path=pretrained, preprocessor_overrides={"device_processor": {"device": device}}
    )
    return LoadedPolicy(pretrained, config, policy, pre, post, mapping)
