"""A page's screenshot from headless Chromium, driven over the DevTools protocol (websockets is
already in the environment; nothing is downloaded): how the tests and benchmarks/viz_bench.py look
at `kiwi viz`'s web viewer."""

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_command(url: str, profile: Path, debug_port: int = 0, size=(1280, 800)) -> list[str]:
    """Headless Chromium opening `url`, rendering WebGL in software (no GPU here)."""
    return [
        chromium(),
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        f"--window-size={size[0]},{size[1]}",
        f"--remote-debugging-port={debug_port}",
        f"--user-data-dir={profile}",
        url,
    ]


def screenshot(url: str, out: Path, wait_s: float, profile: Path, size=(1280, 800)) -> Path:
    """Open `url`, wait `wait_s` (the viewer compiles its WebAssembly and streams), save a PNG."""
    from websockets.sync.client import connect

    port = free_port()
    browser = subprocess.Popen(
        chromium_command("about:blank", profile, port, size),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tabs = json.loads(wait_http(f"http://127.0.0.1:{port}/json", 30.0))
        page = next(t for t in tabs if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            calls = iter(range(1, 1_000_000))

            def call(method: str, **params):
                n = next(calls)
                ws.send(json.dumps({"id": n, "method": method, "params": params}))
                while True:
                    reply = json.loads(ws.recv(timeout=60))
                    if reply.get("id") == n:
                        return reply

            call("Page.navigate", url=url)
            time.sleep(wait_s)
            shot = call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["result"]["data"]))
        return out
    finally:
        browser.terminate()
        browser.wait(timeout=30)


def wait_http(url: str, timeout: float) -> bytes:
    """The body of `url` once it answers (a server starting up), within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
