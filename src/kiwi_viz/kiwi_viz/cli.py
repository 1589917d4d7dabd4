"""`kiwi viz [SOURCE]`: the live graph (no SOURCE) or a recorded episode in Rerun."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("viz", help="the robot in Rerun: the live graph, or an episode bag or dataset episode")
    p.add_argument(
        "source", nargs="?", type=Path, help="an episode bag or a Kiwi LeRobot dataset (none: live topics)"
    )
    p.add_argument("--episode", type=int, default=0, help="the dataset's episode to show (default 0)")
    p.add_argument(
        "--viewer",
        default="web",
        help="web (serve the web viewer; default), native (its window), a rerun+http:// URL, or out.rrd",
    )
    p.add_argument("--web-port", type=int, default=9090, help="the web viewer's HTTP port")
    p.add_argument("--grpc-port", type=int, default=9876, help="the port the web viewer streams from")
    p.set_defaults(func=run)


def run(args) -> int:
    from .replay import ReplayError, check_source, replay
    from .scene import Scene
    from .viewer import ViewerError, open_stream

    if args.source is None:
        from .viz_node import main

        params = {"viewer": args.viewer, "web_port": args.web_port, "grpc_port": args.grpc_port}
        return main(["viz", "--ros-args", *(x for k, v in params.items() for x in ("-p", f"{k}:={v}"))])
    out = Path(args.viewer) if args.viewer.endswith(".rrd") else None
    existed = out is not None and out.exists()
    try:
        check_source(args.source)  # before a viewer starts or a file is written
        if out is not None and not out.parent.is_dir():  # Rerun would warn as well as fail
            raise ViewerError(f"cannot write {out}: {out.parent} is not a folder")
        recording, where = open_stream(args.viewer, args.web_port, args.grpc_port)
        print(where, flush=True)
        shown = replay(args.source, Scene(recording), args.episode)
    except (ReplayError, ViewerError) as exc:
        if out is not None and not existed:
            with contextlib.suppress(OSError):  # its folder may be what failed
                out.unlink(missing_ok=True)  # no half-made recording left behind
        print(f"kiwi viz: {exc}", file=sys.stderr)
        return 1
    print(f"{args.source}: {shown} frames or messages shown", flush=True)
    if out is not None:
        from .viewer import recorded_entities

        recording.disconnect()  # the file complete, with its footer
        print(f"{out}: {len(recorded_entities(out))} entities", flush=True)
    else:
        recording.flush()
    if args.viewer == "web":  # the data live in this process's server: keep it up
        print("serving until Ctrl-C", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    """`kiwi viz` alone (the `kiwi` command adds it to its others)."""
    parser = argparse.ArgumentParser(prog="kiwi")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)
