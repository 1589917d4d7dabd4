"""Turn a graph's node specs into a `launch` description (full ROS 2 installs only).

Each `launch/<graph>.launch.py` calls `generate_for(<graph>)`, so `ros2 launch` and `kiwi launch`
start the same nodes with the same parameters and remappings, and end the same way: a required
node that exits ends the launch, and a missing ROS package starts nothing.
"""

from __future__ import annotations

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from .graphs import NodeSpec, build_graph, get_graph, missing_packages, ros_package_installed


class MissingPackageError(RuntimeError):
    """A ROS package the graph needs is not installed (launch prints the message as one line)."""


class NodeFailedError(RuntimeError):
    """A required node failed while the launch ran (launch prints the message, then exits 1)."""


def end_launch_on_exit(name: str):
    """on_exit for a required node: its exit shuts the launch down; a failure (not during a
    shutdown) also makes `ros2 launch` exit non-zero, naming the node, as `kiwi launch` does."""

    def on_exit(event, context):
        if event.returncode != 0 and not context.is_shutdown:
            raise NodeFailedError(f"node {name} exited with code {event.returncode}; stopping the others")
        return [Shutdown(reason=f"node {name} exited")]

    return on_exit


def spec_to_node(spec: NodeSpec) -> Node:
    extra = {"on_exit": end_launch_on_exit(spec.name)} if spec.required else {}
    return Node(
        package=spec.package,
        executable=spec.executable,
        name=spec.name,
        namespace=spec.namespace,
        parameters=[spec.parameters] if spec.parameters else [],
        remappings=list(spec.remappings),
        arguments=list(spec.arguments),
        output="screen",
        **extra,
    )


def generate_for(graph_name: str) -> LaunchDescription:
    graph = get_graph(graph_name)

    def build(context):
        overrides = {arg.name: LaunchConfiguration(arg.name).perform(context) for arg in graph.args}
        specs = build_graph(graph_name, overrides)
        problem = missing_packages(specs, ros_package_installed)
        if problem:
            raise MissingPackageError(problem)
        return [spec_to_node(spec) for spec in specs]

    declared = [
        DeclareLaunchArgument(
            arg.name,
            default_value=arg.default,
            description=arg.description,
            **({"choices": list(arg.choices)} if arg.choices else {}),
        )
        for arg in graph.args
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=build)])
