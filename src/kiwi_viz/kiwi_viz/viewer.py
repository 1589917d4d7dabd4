"""Where a Kiwi recording stream goes: Rerun's web viewer served from this process, the native
viewer, a viewer already running (its gRPC URL), or an .rrd file."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import quote

import rerun as rr

from .scene import blueprint

APPLICATION_ID = "kiwi"


class ViewerError(ValueError):
    pass


def web_viewer_url(web_port: int, grpc_port: int, host: str = "localhost") -> str:
    """The page a browser opens: the web viewer, told where this process's gRPC server is (the
    browser connects to both ports, so an SSH tunnel forwards both)."""
    return f"http://{host}:{web_port}/?url={quote(f'rerun+http://{host}:{grpc_port}/proxy', safe='')}"


def open_stream(
    viewer: str,
    web_port: int = 9090,
    grpc_port: int = 9876,
    memory_limit: str = "512MiB",
    recording_id: str | None = None,
) -> tuple[rr.RecordingStream, str]:
    """A recording stream sent to `viewer` (web, native, a path ending in .rrd, or a viewer's
    rerun+http:// URL) with Kiwi's layout; returns it and a line saying where to look."""
    connect = viewer.startswith(("rerun://", "rerun+http://", "rerun+https://"))
    if viewer not in ("web", "native") and not connect and not viewer.endswith(".rrd"):
        raise ViewerError(
            f"viewer {viewer!r}: expected web, native, a path ending in .rrd or a rerun+http:// URL"
        )
    rec = rr.RecordingStream(APPLICATION_ID, recording_id=recording_id)
    layout = blueprint()
    try:
        if viewer == "web":
            # The layout is sent after the server is up: serve_grpc given a default_blueprint hung
            # in 12 of 110 starts here (rerun-sdk 0.33.1), without one (the layout sent after) in none of 250.
            url = rec.serve_grpc(grpc_port=grpc_port, server_memory_limit=memory_limit)
            rec.send_blueprint(layout, make_active=True, make_default=True)
            rr.serve_web_viewer(web_port=web_port, open_browser=False, connect_to=url)
            return rec, f"Rerun web viewer: {web_viewer_url(web_port, grpc_port)}"
        if viewer == "native":
            rec.spawn(default_blueprint=layout)
            return rec, "Rerun viewer started"
        if connect:
            rec.connect_grpc(viewer, default_blueprint=layout)
            return rec, f"sending to the Rerun viewer at {viewer}"
        rec.save(viewer, default_blueprint=layout)
        return rec, f"saving to {viewer}"
    except Exception as exc:  # rerun's own errors: a port in use, no display, an unwritable path
        raise ViewerError(f"cannot open the Rerun viewer ({viewer}): {exc}") from exc


def recorded_entities(rrd: Path) -> set[str]:
    """The entity paths with data in an .rrd file (one still being written reads too)."""
    from rerun.experimental import RrdReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a file without its footer yet is read whole: fine
        store = RrdReader(str(rrd)).stream().collect()
    return {path for path in store.schema().entity_paths() if not path.startswith("/__")}
