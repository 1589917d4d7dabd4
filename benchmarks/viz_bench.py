"""Does `kiwi viz` slow the control loop? The sim graph's driver tick period at 30 Hz with cameras,
without the viewer, with it, and with it plus a browser showing the web viewer, side by side.

    .venv/bin/python benchmarks/viz_bench.py [--seconds 20]

Each configuration starts `kiwi launch sim` (cameras on, obstacle) and reads the driver's tick
periods from its /diagnostics and the arrivals of /joint_states in this process, which also reads
both cameras' JPEGs in every configuration (the driver renders only for a reader, as it would for
a policy or the recorder). The browser is headless Chromium (software rendering) on this machine:
a person would look from another one, so this is the worst case.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from driver_bench import measure_periods  # beside this script

from kiwi_viz.browser import chromium, chromium_command, wait_http  # the viewer test's Chromium

BIN = Path(sys.executable).parent
WEB, GRPC = 9190, 9976


def run(seconds: float, viz: bool, browser: bool) -> dict:
    from kiwi_viz.viewer import web_viewer_url

    graph = subprocess.Popen(
        [
            str(BIN / "kiwi"),
            "launch",
            "sim",
            "obstacle:=true",
            f"viz:={str(viz).lower()}",
            f"viz_web_port:={WEB}",
            f"viz_grpc_port:={GRPC}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    chrome, profile = None, tempfile.TemporaryDirectory()
    try:
        if viz:
            wait_http(f"http://127.0.0.1:{WEB}/", 60.0)
        if browser:
            chrome = subprocess.Popen(
                chromium_command(web_viewer_url(WEB, GRPC, "127.0.0.1"), Path(profile.name)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(20.0)  # the viewer loads and catches up before the measurement
        time.sleep(5.0)  # every configuration settles alike after its start
        return measure_periods(seconds, read_cameras=True)
    finally:
        for proc in (chrome, graph):
            if proc is not None:
                proc.send_signal(signal.SIGINT if proc is graph else signal.SIGTERM)
                proc.wait(timeout=30)
        profile.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    configs = [("no viewer", False, False), ("viz node", True, False)]
    if chromium():
        configs.append(("viz node + browser on it", True, True))
    print(
        f"machine: {os.cpu_count()} CPUs; driver at 30 Hz with cameras for {args.seconds:g} s; tick period in ms (target 33.33)"
    )
    print("   configuration               node p50  node p99 | subscriber p50   p99    max  late(>50 ms)  n")
    for name, viz, browser in configs:
        r = run(args.seconds, viz, browser)
        print(
            f"   {name:26s}  {r['node_p50']:8.2f}  {r['node_p99']:8.2f} | "
            f"{r['sub_p50']:14.2f} {r['sub_p99']:6.2f} {r['sub_max']:6.2f} {r['late']:8d} {r['n']:6d}"
        )


if __name__ == "__main__":
    main()
