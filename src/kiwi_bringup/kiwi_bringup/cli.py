"""`kiwi`: the command line of the Kiwi suite.

    kiwi launch GRAPH [name:=value ...]   run a graph's nodes (what `ros2 launch` does on a full install)
    kiwi graphs                          list the graphs and their arguments
"""

from __future__ import annotations

import argparse
import sys

from .graphs import GRAPHS, GraphError, build_graph, parse_assignments
from .runner import RunnerError, node_command, run_graph


def _cmd_graphs(_args) -> int:
    for graph in GRAPHS.values():
        print(f"{graph.name}: {graph.description}")
        for arg in graph.args:
            choices = f" ({'|'.join(arg.choices)})" if arg.choices else ""
            print(f"    {arg.name}:={arg.default}{choices}  {arg.description}")
    return 0


def _cmd_launch(args) -> int:
    specs = build_graph(args.graph, parse_assignments(args.assignments))
    if args.dry_run:
        for spec in specs:
            print(" ".join(node_command(spec, None)), spec.parameters)
        return 0
    return run_graph(specs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiwi", description="Kiwi: teach LeKiwi by demonstration.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("launch", help="run a graph of nodes (ros2 launch for pip-only machines)")
    p.add_argument("graph", help=f"one of: {', '.join(GRAPHS)}")
    p.add_argument("assignments", nargs="*", metavar="name:=value", help="launch arguments")
    p.add_argument("--dry-run", action="store_true", help="print the node commands and exit")
    p.set_defaults(func=_cmd_launch)
    p = sub.add_parser("graphs", help="list graphs and their arguments")
    p.set_defaults(func=_cmd_graphs)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (GraphError, RunnerError) as exc:
        print(f"kiwi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
