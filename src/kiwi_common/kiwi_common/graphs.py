"""Every node graph Kiwi runs, declared once as data.

A graph takes launch arguments (strings, as on a `ros2 launch` command line) and returns node
specs. The `.launch.py` files turn the specs into `launch_ros` Node actions; `kiwi launch` starts
the same specs as processes where `launch` is not installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kiwi_description import constants as c

from .node_interface import camera_topics


@dataclass(frozen=True)
class LaunchArg:
    name: str
    default: str
    description: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSpec:
    package: str
    executable: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    namespace: str = ""
    arguments: tuple[str, ...] = ()  # command-line arguments before --ros-args
    # A node of a full ROS 2 install (robot_state_publisher, rviz2): `kiwi launch` starts it with
    # `ros2 run` where `ros2` is found and says it skipped it elsewhere.
    ros_only: bool = False
    # Whether the graph ends when this node exits (`ros2 launch`: on_exit=Shutdown). The robot
    # depends on the driver, cameras, policy, mux, teleop source and recorder; a viewer (rviz2,
    # Rerun) or robot_state_publisher may close and the robot runs on.
    required: bool = True


def apt_package(package: str) -> str:
    """The Debian package of a ROS 2 Jazzy package (robot_state_publisher ->
    ros-jazzy-robot-state-publisher), as ROS's apt repository names them."""
    return "ros-jazzy-" + package.replace("_", "-")


def ros_package_installed(package: str) -> bool:
    """Whether the ament index (AMENT_PREFIX_PATH) has the package, as `ros2 run` looks it up; a
    GraphError when there is no index to ask (ROS's setup not sourced)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_prefix
    except ImportError as exc:
        raise GraphError(f"cannot look up ROS package {package} ({exc}); is ROS 2 installed?") from None
    try:
        get_package_prefix(package)
    except PackageNotFoundError:
        return False
    except OSError as exc:  # AMENT_PREFIX_PATH unset
        raise GraphError(
            f"cannot look up ROS package {package} ({exc}); source /opt/ros/jazzy/setup.bash first"
        ) from None
    return True


def missing_packages(specs: list[NodeSpec], is_installed: Callable[[str], bool]) -> str | None:
    """One line naming the ROS packages the specs need that are not installed (with the apt
    command that installs them), or None when nothing is missing. Checked before any node starts,
    so a missing package starts nothing."""
    missing = sorted({s.package for s in specs if s.ros_only and not is_installed(s.package)})
    if not missing:
        return None
    return (
        f"not installed: {', '.join(missing)} (needed by this graph); install with: "
        f"sudo apt install {' '.join(apt_package(p) for p in missing)}"
    )


@dataclass(frozen=True)
class Graph:
    name: str
    description: str
    args: tuple[LaunchArg, ...]
    build: Callable[[dict[str, Any]], list[NodeSpec]]
    # Topics the graph subscribes to that come from outside it (a person, another graph).
    external_inputs: frozenset[str] = frozenset()


class GraphError(ValueError):
    """A graph name or launch argument that cannot be used; the message says what is valid."""


def parse_value(text: str) -> Any:
    """A launch argument string as a typed parameter value ('true' -> True, '30' -> 30, ...)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None or isinstance(value, (dict, list)) else value


def share_file(package: str, *parts: str) -> str:
    """A file a package installs under share/<package>/: from the ament index where colcon installed
    it, else from the source tree (pip editable installs have no AMENT_PREFIX_PATH)."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return str(Path(get_package_share_directory(package)).joinpath(*parts))
    except (ImportError, LookupError, OSError):
        return str(Path(__file__).resolve().parents[2].joinpath(package, *parts))


def _robot_side(a: dict[str, Any], sim: bool) -> list[NodeSpec]:
    """The driver (sim or robot, with cameras), robot_state_publisher fed the URDF, and rviz and
    the Rerun viewer if asked."""
    from kiwi_description.urdf import build_urdf

    nodes = [_sim_driver(a)] if sim else _robot(a)
    extras = [
        NodeSpec(
            "robot_state_publisher",
            "robot_state_publisher",
            "robot_state_publisher",
            parameters={"robot_description": build_urdf()},
            ros_only=True,
            required=False,
        )
    ]
    if a["rviz"]:
        extras.append(
            NodeSpec(
                "rviz2",
                "rviz2",
                "rviz2",
                arguments=("-d", share_file("kiwi_description", "rviz", "kiwi.rviz")),
                ros_only=True,
                required=False,
            )
        )
    if a["viz"]:
        extras.append(
            NodeSpec(
                "kiwi_viz",
                "viz",
                "viz",
                parameters={
                    "viewer": str(a["viewer"]),
                    "web_port": int(a["viz_web_port"]),
                    "grpc_port": int(a["viz_grpc_port"]),
                },
                required=False,
            )
        )
    return nodes + [_with_sim_time(n, sim) for n in extras]


def _sim_driver(a: dict[str, Any]) -> NodeSpec:
    if a["image_size"]:
        from kiwi_common.images import parse_image_size

        try:
            parse_image_size(str(a["image_size"]))
        except ValueError as exc:
            raise GraphError(f"image_size:={a['image_size']}: {exc}") from None
    return NodeSpec(
        "kiwi_driver",
        "driver",
        "driver",
        parameters={
            "backend": "sim",
            "rate_hz": float(a["rate_hz"]),
            "seed": int(a["seed"]),
            "obstacle": bool(a["obstacle"]),
            "sim_speed": float(a["sim_speed"]),
            "cameras": bool(a["cameras"]),
            "image_size": str(a["image_size"]),
        },
    )


VIEW_ARGS = (
    LaunchArg("rviz", "false", "Start rviz2 with Kiwi's view (full ROS 2 installs).", ("true", "false")),
    LaunchArg("viz", "false", "Start `viz`: the robot in Rerun (any install).", ("true", "false")),
    LaunchArg(
        "viewer",
        "web",
        "viz:=true: web (serve Rerun's web viewer), native (open its window), a rerun+http:// URL, or an .rrd path.",
    ),
    LaunchArg("viz_web_port", "9090", "viz:=true viewer:=web: the web viewer's HTTP port."),
    LaunchArg("viz_grpc_port", "9876", "viz:=true viewer:=web: the port the viewer streams data from."),
)
SIM_ARGS = (
    LaunchArg("seed", "0", "Seed of the first scene layout."),
    LaunchArg("obstacle", "false", "Put an obstacle between the robot and the cube.", ("true", "false")),
    LaunchArg("rate_hz", "30.0", "Driver rate (Hz)."),
    LaunchArg("sim_speed", "1.0", "Sim speed as a multiple of real time (0: as fast as possible)."),
    LaunchArg("cameras", "true", "Render and publish the two cameras.", ("true", "false")),
    LaunchArg(
        "image_size",
        "",
        "Render the cameras for a policy that sees HxW images (e.g. 96x128): far cheaper than the "
        "real cameras' 640x480; empty: full size.",
    ),
    *VIEW_ARGS,
)
# Commands come from whoever drives: a teleop graph, the policy graph, Nav2, or a person's tools.
ROBOT_INPUTS = frozenset({"arm/command", "cmd_vel"})

ROBOT_ARGS = (
    LaunchArg("port", "/dev/ttyACM0", "Serial port of the LeKiwi bus."),
    LaunchArg("robot_id", "lekiwi", "LeRobot robot id (names the calibration file)."),
    LaunchArg("calibration_dir", "", "Folder of <robot_id>.json; empty: LeRobot's default."),
    LaunchArg("rate_hz", "30.0", "Driver rate (Hz)."),
    LaunchArg("cameras", "true", "Start the front and wrist camera nodes.", ("true", "false")),
    LaunchArg("front_device", "/dev/video0", "Front camera: V4L2 index or path."),
    LaunchArg("wrist_device", "/dev/video2", "Wrist camera: V4L2 index or path."),
    *VIEW_ARGS,
)


def _camera(name: str, device: str) -> NodeSpec:
    spec = c.CAMERAS[name]
    return NodeSpec(
        "kiwi_driver",
        "camera",
        f"{name}_camera",
        parameters={
            "camera": name,
            "device": str(device),
            "width": spec.width,
            "height": spec.height,
            "fps": spec.fps,
            "rotation": spec.rotation_deg,
        },
        # Its images under camera/<name>/ (as the sim driver's); its diagnostics beside the driver's.
        remappings=tuple((t.name, f"camera/{name}/{t.name}") for t in camera_topics()),
    )


def _robot(a: dict[str, Any]) -> list[NodeSpec]:
    cameras = [_camera(cam, a[f"{cam}_device"]) for cam in c.CAMERAS] if a["cameras"] else []
    return [_robot_driver(a), *cameras]


def _robot_driver(a: dict[str, Any]) -> NodeSpec:
    return NodeSpec(
        "kiwi_driver",
        "driver",
        "driver",
        parameters={
            "backend": "feetech",
            "port": str(a["port"]),
            "robot_id": str(a["robot_id"]),
            "calibration_dir": str(a["calibration_dir"]),
            "rate_hz": float(a["rate_hz"]),
        },
    )


TELEOP_SOURCES = ("keyboard", "gamepad", "leader", "expert")
# The policy's inputs to the mux: absent while a person teleoperates, present in the policy graph.
POLICY_INPUTS = frozenset({"policy/arm/command", "policy/cmd_vel"})
# The human's inputs to the mux: a person may run a teleop source beside the policy graph.
TELEOP_INPUTS = frozenset({"teleop/arm/command", "teleop/cmd_vel", "teleop/engaged"})


def _merge_args(*groups: tuple[LaunchArg, ...]) -> tuple[LaunchArg, ...]:
    merged: dict[str, LaunchArg] = {}
    for group in groups:
        for arg in group:
            merged.setdefault(arg.name, arg)
    return tuple(merged.values())


TELEOP_ARGS = _merge_args(
    (
        LaunchArg(
            "teleop",
            "keyboard",
            "Who drives: the terminal keyboard, a gamepad, the SO-101 leader arm (with the "
            "keyboard for the base, as in LeRobot), or the sim's scripted expert.",
            TELEOP_SOURCES,
        ),
        LaunchArg("sim", "true", "Drive the MuJoCo sim (true) or the real robot (false).", ("true", "false")),
        LaunchArg("expert_seed", "0", "Seed of the expert's detour sides."),
        LaunchArg(
            "expert_side",
            "random",
            "The expert's detour side: drawn per episode (random), or always left or right.",
            ("random", "left", "right"),
        ),
        LaunchArg("joy_device", "/dev/input/js0", "teleop:=gamepad: the pad's Linux joystick device."),
        LaunchArg("leader_port", "/dev/ttyACM1", "teleop:=leader: serial port of the leader arm."),
        LaunchArg("leader_id", "leader", "teleop:=leader: LeRobot id of the leader's calibration."),
    ),
    SIM_ARGS,
    ROBOT_ARGS,
)
RECORD_ARGS = TELEOP_ARGS + (
    LaunchArg("out_dir", "data/bags", "Folder for the episode bags."),
    LaunchArg("task", "pick up the cube", "Task string stored with each episode."),
    LaunchArg("mapping", "", "Mapping JSON the recorder records (empty: LeRobot's LeKiwi mapping)."),
)


def _with_sim_time(spec: NodeSpec, sim: bool) -> NodeSpec:
    """Nodes other than the sim driver follow /clock in the sim."""
    if not sim:
        return spec
    return replace(spec, parameters={**spec.parameters, "use_sim_time": True})


def _teleop(a: dict[str, Any]) -> list[NodeSpec]:
    sim = bool(a["sim"])
    if a["teleop"] == "expert" and not sim:
        raise GraphError(
            "teleop:=expert drives the sim only (it reads the sim's ground truth); use sim:=true"
        )
    robot = _robot_side(a, sim)
    mux = NodeSpec("kiwi_teleop", "mux", "mux", parameters={"mode": "teleop"})
    return robot + [_with_sim_time(n, sim) for n in (*_teleop_sources(a), mux)]


def _teleop_sources(a: dict[str, Any], takeover: str = "always") -> list[NodeSpec]:
    kind = a["teleop"]
    if kind == "expert":
        return [
            NodeSpec(
                "kiwi_teleop",
                "expert",
                "expert",
                parameters={
                    "seed": int(a["expert_seed"]),
                    "side": str(a["expert_side"]),
                    "takeover": takeover,
                },
            )
        ]
    if kind == "gamepad":
        return [
            NodeSpec("kiwi_teleop", "joy", "joy", parameters={"dev": str(a["joy_device"])}),
            NodeSpec("kiwi_teleop", "gamepad", "gamepad"),
        ]
    if kind == "leader":
        leader = NodeSpec(
            "kiwi_teleop",
            "leader",
            "leader",
            parameters={"port": str(a["leader_port"]), "leader_id": str(a["leader_id"])},
        )
        return [leader, NodeSpec("kiwi_teleop", "keyboard", "keyboard")]
    return [NodeSpec("kiwi_teleop", "keyboard", "keyboard")]


POLICY_ARGS = _merge_args(
    (
        LaunchArg(
            "model",
            "act",
            "A checkpoint path, or a name looked up in $KIWI_MODELS/<name>, then the workspace's "
            "data/models/<name> (where `kiwi train --policy <name>` writes).",
        ),
        LaunchArg(
            "scheduler", "latest", "How overlapping chunks combine.", ("latest", "ensemble", "average")
        ),
        LaunchArg("control_hz", "0.0", "Command rate (Hz); 0: the dataset's fps."),
        LaunchArg("torch_threads", "1", "Torch threads for inference."),
        LaunchArg("task", "pick up the cube", "Task string given to the policy."),
        LaunchArg(
            "act_latent",
            "zero",
            "ACT: the prior's mean (zero, LeRobot's) or a latent drawn per episode.",
            ("zero", "episode"),
        ),
        LaunchArg(
            "diffusion_noise",
            "-1.0",
            "Diffusion (DDIM): the scale of the noise its sampler starts from (1: LeRobot's, 0: zeros; "
            "-1: 0.5 for a DDIM Diffusion, 1 otherwise).",
        ),
        LaunchArg(
            "teleop", "none", "Who can take over from the policy (none: nobody).", ("none", *TELEOP_SOURCES)
        ),
    ),
    TELEOP_ARGS,
)


def _policy(a: dict[str, Any]) -> list[NodeSpec]:
    sim = bool(a["sim"])
    return _robot_side(a, sim) + _policy_nodes(a, sim)


def _policy_nodes(a: dict[str, Any], sim: bool) -> list[NodeSpec]:
    """The policy, the mux (shared) and the teleop source that may take over: no robot nodes."""
    if a["teleop"] == "expert" and not sim:
        raise GraphError("teleop:=expert takes over in the sim only; use sim:=true")
    policy = NodeSpec(
        "kiwi_policy",
        "policy",
        "policy",
        parameters={
            "model": str(a["model"]),
            "scheduler": str(a["scheduler"]),
            "control_hz": float(a["control_hz"]),
            "torch_threads": int(a["torch_threads"]),
            "task": str(a["task"]),
            "act_latent": str(a["act_latent"]),
            "diffusion_noise": float(a["diffusion_noise"]),
        },
    )
    mux = NodeSpec("kiwi_teleop", "mux", "mux", parameters={"mode": "shared"})
    sources = [] if a["teleop"] == "none" else _teleop_sources(a)
    return [_with_sim_time(n, sim) for n in (policy, mux, *sources)]


def _recorder(a: dict[str, Any]) -> NodeSpec:
    recorder = NodeSpec(
        "kiwi_recorder",
        "recorder",
        "recorder",
        parameters={"out_dir": str(a["out_dir"]), "task": str(a["task"]), "mapping": str(a["mapping"])},
    )
    return _with_sim_time(recorder, bool(a["sim"]))


def _record(a: dict[str, Any]) -> list[NodeSpec]:
    return _teleop(a) + [_recorder(a)]


def _without(args: tuple[LaunchArg, ...], names) -> tuple[LaunchArg, ...]:
    return tuple(arg for arg in args if arg.name not in set(names))


# The arguments that choose and configure a person's teleop source.
TELEOP_SOURCE_ARGS = ("teleop", "joy_device", "leader_port", "leader_id")
DAGGER_ARGS = _merge_args(
    (
        LaunchArg(
            "takeover",
            "gate",
            "When the expert takes over: gate (human-gated DAgger), never (it labels only: "
            "oracle DAgger, evaluation), always.",
            ("gate", "never", "always"),
        ),
        LaunchArg(
            "gate_lift_stall_s",
            "0.5",
            "takeover:=gate: seconds a cube off the floor, below the hold height, may go without "
            "rising before the expert takes over (0: the rule is off).",
        ),
        LaunchArg(
            "gate_patience_s",
            "0.5",
            "takeover:=gate: seconds the jaws may stay shut on nothing, or the base past the grasp "
            "stand, before the expert takes over.",
        ),
    ),
    _without(POLICY_ARGS + RECORD_ARGS, {*TELEOP_SOURCE_ARGS, "sim", *(arg.name for arg in ROBOT_ARGS)}),
    SIM_ARGS,
)


def _dagger(a: dict[str, Any]) -> list[NodeSpec]:
    a = {**a, "sim": True}  # the expert reads the sim's ground truth
    nodes = _policy({**a, "teleop": "none"})
    expert = [
        replace(
            spec,
            parameters={
                **spec.parameters,
                **{name: float(a[name]) for name in ("gate_lift_stall_s", "gate_patience_s")},
            },
        )
        for spec in _teleop_sources({**a, "teleop": "expert"}, takeover=str(a["takeover"]))
    ]
    return nodes + [_with_sim_time(n, True) for n in expert] + [_recorder(a)]


def _nav2(a: dict[str, Any]) -> list[NodeSpec]:
    """The policy graph ready for a Nav2 hand-off: Nav2 (started on its own, with
    config/nav2_params.yaml) drives the base through /cmd_vel as TwistStamped; the policy waits
    for /policy/start (autostart off) and its commands go through the mux, stamped the same way."""
    changes = {
        "driver": {"cmd_vel_stamped": True},
        "mux": {"cmd_vel_stamped": True},
        "viz": {"cmd_vel_stamped": True},
        "policy": {"autostart": False},
    }
    return [
        replace(spec, parameters={**spec.parameters, **changes.get(spec.name, {})})
        for spec in _policy({**a, "teleop": "none"})
    ]


def _remote_policy(a: dict[str, Any]) -> list[NodeSpec]:
    """The policy graph without the robot's nodes: they run on the robot's own computer (the Pi),
    or in another launch (the sim: then its stamps are sim time and these nodes follow /clock)."""
    return _policy_nodes(a, sim=bool(a["use_sim_time"]))


REMOTE_POLICY_ARGS = (
    *(
        replace(arg, choices=tuple(x for x in arg.choices if x != "expert"))
        if arg.name == "teleop"
        else arg  # sim only
        for arg in _without(
            POLICY_ARGS, {*(arg.name for arg in SIM_ARGS + ROBOT_ARGS), "sim", "expert_seed", "expert_side"}
        )
    ),
    LaunchArg(
        "use_sim_time",
        "false",
        "Follow /clock: true when the robot side is the sim (`sim.launch.py`, `kiwi launch sim`), "
        "which stamps everything with sim time; false for a real robot.",
        ("true", "false"),
    ),
)
# What the robot's computer publishes to a policy running elsewhere.
REMOTE_ROBOT_OUTPUTS = frozenset(
    {"joint_states", *(f"camera/{cam}/image_raw/compressed" for cam in c.CAMERAS)}
)
NAV2_ARGS = _without(POLICY_ARGS, {*TELEOP_SOURCE_ARGS, "expert_seed", "expert_side"})
GRAPHS: dict[str, Graph] = {
    "sim": Graph(
        "sim",
        "The MuJoCo sim of LeKiwi behind the robot's topics.",
        SIM_ARGS,
        lambda a: _robot_side(a, sim=True),
        external_inputs=ROBOT_INPUTS,
    ),
    "robot": Graph(
        "robot",
        "The real LeKiwi: the driver on the Feetech bus and the two V4L2 cameras.",
        ROBOT_ARGS,
        lambda a: _robot_side(a, sim=False),
        external_inputs=ROBOT_INPUTS,
    ),
    "teleop": Graph(
        "teleop",
        "A person (keyboard, gamepad, leader arm) or the scripted expert drives the sim or the robot through the mux.",
        TELEOP_ARGS,
        _teleop,
        external_inputs=POLICY_INPUTS,
    ),
    "policy": Graph(
        "policy",
        "A trained LeRobot policy drives the sim or the robot through the mux; a person can take over.",
        POLICY_ARGS,
        _policy,
        external_inputs=TELEOP_INPUTS,
    ),
    "record": Graph(
        "record",
        "The teleop graph plus the recorder: one MCAP bag per episode (start/save/discard services).",
        RECORD_ARGS,
        _record,
        external_inputs=POLICY_INPUTS,
    ),
    "nav2": Graph(
        "nav2",
        "Nav2 drives the base to a goal (/cmd_vel, TwistStamped), then the policy is started for the manipulation.",
        NAV2_ARGS,
        _nav2,
        external_inputs=ROBOT_INPUTS | TELEOP_INPUTS,
    ),
    "remote_policy": Graph(
        "remote_policy",
        "The policy, the mux and optionally a teleop source on a workstation, driving a robot whose driver and "
        "cameras run on its own computer (same ROS_DOMAIN_ID, over the network).",
        REMOTE_POLICY_ARGS,
        _remote_policy,
        external_inputs=TELEOP_INPUTS | REMOTE_ROBOT_OUTPUTS,
    ),
    "dagger": Graph(
        "dagger",
        "The policy drives the sim; the scripted expert takes over when the policy leaves its envelope "
        "(or only labels), and every episode is recorded: the rollouts of `kiwi demo`.",
        DAGGER_ARGS,
        _dagger,
    ),
}


NAMESPACE_ARG = LaunchArg(
    "namespace",
    "",
    "Namespace of every node, topic and service (robot1: /robot1/cmd_vel); TF frames get the prefix robot1/.",
)
GRAPHS = {name: replace(graph, args=(*graph.args, NAMESPACE_ARG)) for name, graph in GRAPHS.items()}


def resolve_args(graph: Graph, overrides: dict[str, str]) -> dict[str, Any]:
    """Defaults plus overrides, typed; unknown names and values outside `choices` are errors."""
    known = {arg.name: arg for arg in graph.args}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise GraphError(
            f"graph '{graph.name}' has no argument {', '.join(unknown)}; "
            f"its arguments are: {', '.join(known) or '(none)'}"
        )
    values = {}
    for name, arg in known.items():
        text = overrides.get(name, arg.default)
        if arg.choices and text not in arg.choices:
            raise GraphError(f"{name}:={text} is not one of {', '.join(arg.choices)}")
        values[name] = parse_value(text)
        _check_number(name, text, parse_value(arg.default), values[name])
    return values


def _check_number(name: str, text: str, default, value) -> None:
    """A numeric argument (its default a number) must be a finite number of that kind."""
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return
    whole = isinstance(default, int)
    if (
        isinstance(value, bool)
        or not isinstance(value, int if whole else (int, float))
        or not math.isfinite(value)
    ):
        raise GraphError(f"{name}:={text} is not a {'whole number' if whole else 'finite number'}")


def get_graph(name: str) -> Graph:
    try:
        return GRAPHS[name]
    except KeyError:
        raise GraphError(f"no graph named '{name}'; graphs: {', '.join(GRAPHS)}") from None


def build_graph(name: str, overrides: dict[str, str] | None = None) -> list[NodeSpec]:
    graph = get_graph(name)
    values = resolve_args(graph, overrides or {})
    return in_namespace(graph.build(values), str(values["namespace"]))


# Nodes that name TF frames, each with a `frame_prefix` parameter (robot_state_publisher's own name).
FRAME_NAMING = {
    ("kiwi_driver", "driver"),
    ("kiwi_driver", "camera"),
    ("robot_state_publisher", "robot_state_publisher"),
}


def in_namespace(specs: list[NodeSpec], namespace: str) -> list[NodeSpec]:
    """Every node in `namespace`: its relative topics and services resolve there. /clock is the
    namespace's own (two sims in one domain must not share one), and frame ids get the prefix
    '<namespace>/' on one /tf tree, as Nav2's multi-robot bringup does."""
    ns = namespace.strip("/")
    if not ns:
        return specs
    out = []
    for spec in specs:
        params = dict(spec.parameters)
        if (spec.package, spec.executable) in FRAME_NAMING:
            params["frame_prefix"] = f"{ns}/"
        out.append(
            replace(
                spec,
                namespace="/".join(filter(None, (ns, spec.namespace))),
                parameters=params,
                remappings=(*spec.remappings, ("/clock", f"/{ns}/clock")),
            )
        )
    return out


def argument_variants(graph: Graph):
    """Defaults, then each argument with choices set to each of its choices (what the tests check)."""
    yield {}
    for arg in graph.args:
        for choice in arg.choices:
            yield {arg.name: choice}


def parse_assignments(items: list[str]) -> dict[str, str]:
    """['seed:=3', 'obstacle:=true'] -> {'seed': '3', 'obstacle': 'true'} (ros2 launch syntax)."""
    out = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise GraphError(f"expected name:=value, got {item!r}")
        out[name] = value
    return out
