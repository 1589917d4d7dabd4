"""The sim graph with `viz:=true`, looked at as a person would: Rerun's web viewer in headless
Chromium (a screenshot that shows the viewer, not its loading screen), and the entities that
reached the viewer's server, pulled by Rerun's own CLI into a file and read back."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kiwi_viz.browser import chromium, free_port, screenshot, wait_http
from kiwi_viz.viewer import recorded_entities, web_viewer_url

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


def test_sim_graph_in_the_web_viewer(start_nodes, tmp_path):
    if chromium() is None:
        pytest.skip("no Chromium to look with: apt-get install chromium (./test.sh installs it where root)")
    web, grpc = free_port(), free_port()
    graph = start_nodes(
        [
            str(BIN / "kiwi"),
            "launch",
            "sim",
            "viz:=true",
            "obstacle:=true",
            f"viz_web_port:={web}",
            f"viz_grpc_port:={grpc}",
        ]
    )
    try:
        wait_http(f"http://127.0.0.1:{web}/", 120.0)  # the node starts slowly on a loaded machine
    except OSError as exc:  # Rerun's serve_grpc once hung here: keep what the graph said
        pytest.fail(
            f"the viewer on port {web} did not answer ({exc}); the graph said:\n" + "".join(graph.output)
        )

    # What the viewer's server holds, as any viewer gets it.
    rrd = tmp_path / "live.rrd"
    pull = subprocess.Popen(
        [
            str(BIN / "rerun"),
            "--port",
            str(free_port()),
            "--save",
            str(rrd),
            f"rerun+http://127.0.0.1:{grpc}/proxy",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(10.0)
    pull.send_signal(signal.SIGINT)
    pull.wait(timeout=30)
    paths = recorded_entities(rrd)
    expected = {
        "/camera/front",
        "/camera/wrist",
        "/map/robot/odom",
        "/map/robot/ground_truth",
        "/map/cube",
        "/map/obstacle",
        "/joints/arm_shoulder_lift/measured",
        "/base/x.vel/measured",
        "/diagnostics/driver__timing/period_p50_ms",
    }
    assert expected <= paths, expected - paths

    from PIL import Image

    png = screenshot(
        web_viewer_url(web, grpc, "127.0.0.1"), tmp_path / "viewer.png", 25.0, tmp_path / "chrome"
    )
    pixels = np.asarray(Image.open(png).convert("RGB"))
    colors = len(np.unique(pixels.reshape(-1, 3), axis=0))
    # The loading screen is a flat colour and a line of text; the viewer with camera images, a 3D
    # map and plots has thousands of colours.
    assert colors > 2000, f"the screenshot {png} looks blank ({colors} colours)"
