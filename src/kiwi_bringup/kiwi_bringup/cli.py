"""`kiwi launch` and `kiwi graphs`: start a graph's nodes where `ros2 launch` is not installed.

The `kiwi` command (kiwi_experiments) offers these beside its own commands; `python -m
kiwi_bringup.cli launch GRAPH ...` runs them without the packages above bringup.
"""

from __future__ import annotations

import argparse
import sys

from kiwi_common.graphs import GRAPHS, GraphError, build_graph, parse_assignments

from .runner import RunnerError, node_command, run_graph


def _cmd_graphs(_args) -> int:
    for graph in GRAPHS.values():
        print(f"{graph.name}: {graph.description}")
        for arg in graph.args:
            choices = f" ({'|'.join(arg.choices)})" if arg.choices else ""
            print(f"    {arg.name}:={arg.default}{choices}  {arg.description}")
    return 0


def check_models(specs) -> None:
    """Each policy node's checkpoint, checked before any node starts (its files whole, its features
    those of the robot's mapping): a broken one is one line here, not a node that dies later."""
    from kiwi_common.features import Mapping, MappingError
    from kiwi_policy.checkpoint import CheckpointError, check_checkpoint

    for spec in specs:
        if (spec.package, spec.executable) != ("kiwi_policy", "policy"):
            continue
        mapping_file = spec.parameters.get("mapping")
        try:
            check_checkpoint(spec.parameters["model"], Mapping.load(mapping_file) if mapping_file else None)
        except (CheckpointError, MappingError) as exc:
            raise GraphError(f"model: {exc}") from None


def _cmd_launch(args) -> int:
    specs = build_graph(args.graph, parse_assignments(args.assignments))
    check_models(specs)
    if args.dry_run:
        for spec in specs:
            shown = {
                k: f"<{len(v)} characters>" if isinstance(v, str) and len(v) > 200 else v
                for k, v in spec.parameters.items()
            }  # the URDF
            print(" ".join(node_command(spec, None)), shown)
        return 0
    return run_graph(specs)


def add_commands(sub) -> None:
    p = sub.add_parser("launch", help="run a graph of nodes (ros2 launch for pip-only machines)")
    p.add_argument("graph", help=f"one of: {', '.join(GRAPHS)}")
    p.add_argument("assignments", nargs="*", metavar="name:=value", help="launch arguments")
    p.add_argument("--dry-run", action="store_true", help="print the node commands and exit")
    p.set_defaults(func=_cmd_launch)
    p = sub.add_parser("graphs", help="list graphs and their arguments")
    p.set_defaults(func=_cmd_graphs)


def take_late_assignments(args, unknown: list[str]) -> list[str]:
    """Assignments after an option (`launch sim --dry-run seed:=3`), as ros2 launch allows; returns
    what is still unrecognized."""
    if getattr(args, "command", None) == "launch" and all(":=" in item for item in unknown):
        args.assignments += unknown
        return []
    return unknown


def run_command(prog: str, args) -> int:
    try:
        return args.func(args)
    except (GraphError, RunnerError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiwi", description="Start Kiwi's node graphs.")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args, unknown = parser.parse_known_args(argv)
    if take_late_assignments(args, unknown):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return run_command("kiwi", args)


if __name__ == "__main__":
    sys.exit(main())
