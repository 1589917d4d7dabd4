"""What a Kiwi node declares about itself: its parameters and the topics it uses.

Each node module holds a `NodeInterface` and declares its parameters from it, so the graph specs
can be checked against the nodes without starting them (every parameter a spec sets is declared,
every subscribed topic has a publisher), and the live tests check the same tables against the
running nodes. Topic names are relative, so a graph's namespace applies to all of them.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    description: str


@dataclass(frozen=True)
class Topic:
    """A topic by its name as the node uses it (before remapping) and its message type."""

    name: str
    type: str  # 'pkg/msg/Type'
    # Used only in some configurations (the sim's ground truth, for a state-only policy): a graph
    # need not publish it.
    optional: bool = False


@dataclass(frozen=True)
class NodeInterface:
    params: tuple[Param, ...] = ()
    publishes: tuple[Topic, ...] = ()
    subscribes: tuple[Topic, ...] = ()
    services: tuple[str, ...] = field(default=())

    def param_names(self) -> set[str]:
        return {p.name for p in self.params}


def camera_topics(prefix: str = "") -> tuple[Topic, ...]:
    """One camera's streams under `prefix`, as the sim driver and the camera node publish them."""
    return (
        Topic(prefix + "image_raw", "sensor_msgs/msg/Image"),
        Topic(prefix + "image_raw/compressed", "sensor_msgs/msg/CompressedImage"),
        Topic(prefix + "camera_info", "sensor_msgs/msg/CameraInfo"),
    )


def full_name(name: str, namespace: str = "") -> str:
    """A topic or service as a node names it -> its full name in `namespace` (before remapping)."""
    if name.startswith("/"):
        return name
    ns = namespace.strip("/")
    return f"/{ns}/{name}" if ns else f"/{name}"


def declare_params(node, interface: NodeInterface) -> SimpleNamespace:
    """Declare every parameter of `interface` on `node`; return their values by name."""
    from rcl_interfaces.msg import ParameterDescriptor

    values = {}
    for p in interface.params:
        node.declare_parameter(p.name, p.default, ParameterDescriptor(description=p.description))
        values[p.name] = node.get_parameter(p.name).value
    return SimpleNamespace(**values)


def _context_ends(rclpy, within_s: float = 0.5) -> bool:
    """Whether the default context shuts down within `within_s` (a stop under way), else False."""
    deadline = time.monotonic() + within_s
    while rclpy.ok():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def run_node(
    make_node, prog: str, args=None, setup_errors=(ValueError, RuntimeError, ConnectionError)
) -> int:
    """The `main` of every Kiwi node: init, build, spin until Ctrl-C, clean up.

    A node that cannot start for a reason in `setup_errors` prints one clear line and exits 2; on
    the way out its `shutdown()` (if any) runs before the node is destroyed.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    try:
        node = make_node()
    except setup_errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting up
        rclpy.try_shutdown()
        return 0
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # Ctrl-C shuts the context down from rclpy's signal handler; an executor or a publish caught
        # mid-way then fails ("context is not valid", or a KeyboardInterrupt that pybind11 turned
        # into "Unable to convert call argument") a moment before the context reads as shut down.
        if not _context_ends(rclpy):
            raise
    finally:
        # Stopping already: a second SIGINT (Ctrl-C reaches the node from the terminal and again
        # from `ros2 launch`) must not break the clean-up. SIGTERM still ends a stuck node.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(node, "shutdown"):
            node.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
