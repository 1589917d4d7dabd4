"""Every launch file declares each argument of its graph and starts the graph's nodes, with the same
parameters and remappings as `kiwi launch`. `launch`/`launch_ros` are not on PyPI: where they are
missing, the files run against a minimal stand-in of the part of their API they use (where they are
installed, the real API is used)."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from kiwi_common.graphs import GRAPHS, argument_variants, build_graph

SRC = Path(__file__).resolve().parents[2]
LAUNCH_FILES = {
    **{p.name.removesuffix(".launch.py"): p for p in (SRC / "kiwi_bringup" / "launch").glob("*.launch.py")},
    "policy": SRC / "kiwi_policy" / "launch" / "run.launch.py",
}
REAL_LAUNCH = (
    importlib.util.find_spec("launch") is not None and importlib.util.find_spec("launch_ros") is not None
)


class _Context:
    def __init__(self, configurations):
        self.launch_configurations = configurations


class RecordedNode:
    """Stands in for launch_ros.actions.Node (always: its constructor arguments are what we compare)."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs


def _stand_in_modules() -> dict[str, types.ModuleType]:
    """launch.LaunchDescription, launch.actions.{DeclareLaunchArgument, OpaqueFunction},
    launch.substitutions.LaunchConfiguration (and launch_ros.actions.Node): just what they record."""
    launch, actions, substitutions = (
        types.ModuleType(n) for n in ("launch", "launch.actions", "launch.substitutions")
    )
    launch_ros, ros_actions = types.ModuleType("launch_ros"), types.ModuleType("launch_ros.actions")

    class LaunchDescription:
        def __init__(self, entities):
            self.entities = list(entities)

    class DeclareLaunchArgument:
        def __init__(self, name, default_value=None, description="", choices=None):
            self.name, self.default_value, self.description, self.choices = (
                name,
                default_value,
                description,
                choices,
            )

    class OpaqueFunction:
        def __init__(self, function):
            self.function = function

    class Shutdown:
        def __init__(self, reason="", **kwargs):
            self.reason = reason

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            return context.launch_configurations[self.name]

    launch.LaunchDescription, actions.DeclareLaunchArgument, actions.OpaqueFunction, actions.Shutdown = (
        LaunchDescription,
        DeclareLaunchArgument,
        OpaqueFunction,
        Shutdown,
    )
    substitutions.LaunchConfiguration, ros_actions.Node = LaunchConfiguration, RecordedNode
    launch.actions, launch.substitutions, launch_ros.actions = actions, substitutions, ros_actions
    return {
        "launch": launch,
        "launch.actions": actions,
        "launch.substitutions": substitutions,
        "launch_ros": launch_ros,
        "launch_ros.actions": ros_actions,
    }


@pytest.fixture
def launch_api(monkeypatch):
    """The launch API (real or stand-in) with every ROS package installed (robot_state_publisher,
    rviz2: not on this machine); `installed` changes what counts as installed."""
    installed = {"all": True, "missing": set()}

    def is_installed(package):
        return installed["all"] and package not in installed["missing"]

    monkeypatch.setattr("kiwi_common.graphs.ros_package_installed", is_installed)
    if REAL_LAUNCH:
        import launch_ros.actions

        monkeypatch.setattr(launch_ros.actions, "Node", RecordedNode)
    else:
        for name, module in _stand_in_modules().items():
            monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "kiwi_common.launch_support", raising=False)
    yield installed


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"launch_file_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def declared_and_nodes(description, overrides):
    """(declared arguments by name -> (default, choices), the nodes' settings) for these launch arguments."""
    if REAL_LAUNCH:
        from launch import LaunchContext
        from launch.actions import DeclareLaunchArgument, OpaqueFunction

        context = LaunchContext()
        declared = {e.name: e for e in description.entities if isinstance(e, DeclareLaunchArgument)}
        defaults = {n: "".join(s.perform(context) for s in d.default_value) for n, d in declared.items()}
        context.launch_configurations.update({**defaults, **overrides})
        nodes = [n for e in description.entities if isinstance(e, OpaqueFunction) for n in e.execute(context)]
        return (
            {n: (defaults[n], list(d.choices or [])) for n, d in declared.items()},
            [_settings(n.kwargs) for n in nodes],
        )
    declared = {e.name: e for e in description.entities if hasattr(e, "default_value")}
    context = _Context({**{n: d.default_value for n, d in declared.items()}, **overrides})
    nodes = [n for e in description.entities if hasattr(e, "function") for n in e.function(context)]
    return (
        {n: (d.default_value, list(d.choices or [])) for n, d in declared.items()},
        [_settings(n.kwargs) for n in nodes],
    )


def _settings(kw):
    params = kw.get("parameters") or [{}]
    on_exit = kw.get("on_exit")
    return (
        kw["package"],
        kw["executable"],
        kw["name"],
        kw.get("namespace") or "",
        params[0],
        tuple(tuple(r) for r in kw.get("remappings") or ()),
        tuple(kw.get("arguments") or ()),
        "ends the launch" if on_exit is not None else None,
    )


def spec_settings(spec):
    return (
        spec.package,
        spec.executable,
        spec.name,
        spec.namespace,
        spec.parameters,
        tuple(spec.remappings),
        spec.arguments,
        "ends the launch" if spec.required else None,
    )


def test_every_graph_has_a_launch_file():
    assert set(GRAPHS) <= set(LAUNCH_FILES), f"no launch file for {sorted(set(GRAPHS) - set(LAUNCH_FILES))}"


CASES = [(g.name, v) for g in GRAPHS.values() for v in argument_variants(g)]


@pytest.mark.parametrize(("graph", "overrides"), CASES, ids=[f"{g}-{i}" for i, (g, _) in enumerate(CASES)])
def test_launch_file_equals_the_graph(launch_api, graph, overrides):
    declared, nodes = declared_and_nodes(load(LAUNCH_FILES[graph]), overrides)
    args = GRAPHS[graph].args
    assert list(declared) == [a.name for a in args], "one DeclareLaunchArgument per runner argument, in order"
    assert all(declared[a.name] == (a.default, list(a.choices)) for a in args), (
        "defaults and choices as the runner's"
    )
    assert nodes == [spec_settings(s) for s in build_graph(graph, overrides)]


@pytest.mark.parametrize(
    ("graph", "overrides", "missing", "apt"),
    [
        ("sim", {}, "robot_state_publisher", "ros-jazzy-robot-state-publisher"),
        ("policy", {"rviz": "true"}, "rviz2", "ros-jazzy-rviz2"),
        ("teleop", {"teleop": "gamepad"}, "robot_state_publisher", "ros-jazzy-robot-state-publisher"),
    ],
)
def test_a_missing_ros_package_starts_nothing(launch_api, graph, overrides, missing, apt):
    launch_api["missing"].add(missing)
    with pytest.raises(RuntimeError) as refused:
        declared_and_nodes(load(LAUNCH_FILES[graph]), overrides)
    message = str(refused.value)
    assert "\n" not in message and missing in message and f"sudo apt install {apt}" in message


def test_the_robot_s_nodes_end_the_launch_and_viewers_do_not(launch_api):
    _, nodes = declared_and_nodes(
        load(LAUNCH_FILES["policy"]), {"rviz": "true", "viz": "true", "teleop": "gamepad"}
    )
    ends = {name for _, _, name, *_, on_exit in nodes if on_exit}
    assert ends == {"driver", "policy", "mux", "joy", "gamepad"}


def test_a_required_node_s_exit_shuts_down_and_a_failure_is_an_error(launch_api):
    from launch.actions import Shutdown

    load(LAUNCH_FILES["sim"])  # imports launch_support against this launch API
    support = sys.modules["kiwi_common.launch_support"]
    on_exit = support.end_launch_on_exit("driver")
    running, stopping = types.SimpleNamespace(is_shutdown=False), types.SimpleNamespace(is_shutdown=True)
    (action,) = on_exit(types.SimpleNamespace(returncode=0), running)  # the keyboard's q
    assert isinstance(action, Shutdown)
    assert isinstance(on_exit(types.SimpleNamespace(returncode=-9), stopping)[0], Shutdown)
    with pytest.raises(
        support.NodeFailedError, match="^node driver exited with code 2; stopping the others$"
    ):
        on_exit(types.SimpleNamespace(returncode=2), running)


def test_rviz_view_shows_what_the_policy_graph_publishes():
    import importlib

    import yaml

    from kiwi_bringup.runner import find_entry_point
    from kiwi_common.graphs import share_file

    view = yaml.safe_load(Path(share_file("kiwi_description", "rviz", "kiwi.rviz")).read_text())
    shown = set()
    for display in view["Visualization Manager"]["Displays"]:
        for key in ("Topic", "Description Topic"):
            if key in display:
                shown.add(display[key]["Value"])
    published = {"robot_description"}  # robot_state_publisher's
    for spec in build_graph("policy", {"rviz": "true"}):
        if not spec.ros_only:
            ep = find_entry_point(spec.package, spec.executable)
            published |= {
                t.name for t in importlib.import_module(ep.value.partition(":")[0]).INTERFACE.publishes
            }
    # Relative, as the nodes name them: rviz started in a graph's namespace shows that robot.
    assert shown == {
        "robot_description",
        "odom",
        "policy/planned_path",
        "camera/front/image_raw",
        "camera/wrist/image_raw",
    }
    assert shown <= published, shown - published
    assert view["Visualization Manager"]["Global Options"]["Fixed Frame"] == "odom"
