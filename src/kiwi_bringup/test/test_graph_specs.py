"""Every graph's specs: executables exist, parameters are declared, inputs have publishers."""

import importlib

import pytest

from kiwi_bringup.runner import find_entry_point
from kiwi_common.graphs import (
    GRAPHS,
    GraphError,
    argument_variants,
    build_graph,
    parse_assignments,
    parse_value,
    resolve_args,
)
from kiwi_common.node_interface import full_name


def node_interface(spec):
    ep = find_entry_point(spec.package, spec.executable)
    module = importlib.import_module(ep.value.partition(":")[0])
    return module.INTERFACE


def resolve(name, spec):
    """A topic as the node uses it -> its name in the graph (namespace, then remappings)."""
    remaps = {full_name(a, spec.namespace): full_name(b, spec.namespace) for a, b in spec.remappings}
    name = full_name(name, spec.namespace)
    return remaps.get(name, name)


CASES = [(g, v) for g in GRAPHS.values() for v in [*argument_variants(g), {"namespace": "robot1"}]]


@pytest.mark.parametrize("graph, overrides", CASES, ids=[f"{g.name}-{v}" for g, v in CASES])
def test_spec_is_consistent(graph, overrides):
    specs = build_graph(graph.name, overrides)
    assert specs, "a graph starts at least one node"
    published = set()
    subscribed = []
    for spec in specs:
        if spec.ros_only:  # robot_state_publisher, rviz2: not ours, not on PyPI
            assert spec.package in ("robot_state_publisher", "rviz2"), spec
            continue
        interface = node_interface(spec)  # raises if the executable does not exist
        undeclared = set(spec.parameters) - interface.param_names() - {"use_sim_time"}
        assert not undeclared, f"{spec.name} sets parameters its node does not declare: {undeclared}"
        published |= {resolve(t.name, spec) for t in interface.publishes}
        subscribed += [(spec.name, resolve(t.name, spec)) for t in interface.subscribes if not t.optional]
    ns = overrides.get("namespace", "")
    external = {full_name(t, ns) for t in graph.external_inputs}
    orphans = [(n, t) for n, t in subscribed if t not in published | external]
    assert not orphans, f"subscribed topics nobody in '{graph.name}' publishes: {orphans}"


def test_unknown_executable_is_reported():
    with pytest.raises(RuntimeError, match="no executable 'nope'"):
        find_entry_point("kiwi_driver", "nope")


def test_unknown_graph_and_argument_are_named():
    with pytest.raises(GraphError, match="graphs: sim, robot, teleop, policy, record"):
        build_graph("nope")
    with pytest.raises(GraphError, match="its arguments are: seed"):
        build_graph("sim", {"sed": "1"})
    with pytest.raises(GraphError, match="not one of true, false"):
        build_graph("sim", {"obstacle": "maybe"})


def test_arguments_are_typed():
    values = resolve_args(GRAPHS["sim"], {"seed": "4", "obstacle": "true", "sim_speed": "2.5"})
    assert values["seed"] == 4 and values["obstacle"] is True and values["sim_speed"] == 2.5
    assert parse_value("some/path") == "some/path"
    assert parse_value("") == ""


def test_the_policy_graph_hands_the_sampler_settings_to_the_node():
    def policy_parameters(overrides):
        specs = build_graph("policy", {"model": "some/model", **overrides})
        return next(spec.parameters for spec in specs if spec.executable == "policy")

    assert policy_parameters({})["diffusion_noise"] == -1.0, "unset: the node resolves it per checkpoint"
    given = policy_parameters({"diffusion_noise": "0.25", "act_latent": "episode"})
    assert given["diffusion_noise"] == 0.25 and given["act_latent"] == "episode"


def test_parse_assignments():
    assert parse_assignments(["a:=1", "b:=x:=y"]) == {"a": "1", "b": "x:=y"}
    for bad in ("a=1", ":=1"):
        with pytest.raises(GraphError):
            parse_assignments([bad])


def test_node_names_unique_in_every_graph():
    for graph, overrides in CASES:
        names = [s.name for s in build_graph(graph.name, overrides)]
        assert len(names) == len(set(names))


def test_every_interface_declares_each_param_once():
    seen = set()
    for graph, overrides in CASES:
        for spec in build_graph(graph.name, overrides):
            if spec.ros_only:
                continue
            interface = node_interface(spec)
            names = [p.name for p in interface.params]
            assert len(names) == len(set(names))
            seen.add((spec.package, spec.executable))
    assert seen


def test_launch_takes_assignments_before_or_after_options(capsys):
    from kiwi_bringup.cli import main

    assert main(["launch", "sim", "--dry-run", "seed:=3"]) == 0
    assert "'seed': 3" in capsys.readouterr().out
    assert main(["launch", "sim", "obstacle:=true", "--dry-run"]) == 0
    assert "'obstacle': True" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["launch", "sim", "--dry-run", "--bogus"])
