"""`kiwi demo --quick` end to end: interrupted in every stage, resumed, and the report's numbers traced to its episodes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration

KIWI = [sys.executable, "-m", "kiwi_experiments.cli"]


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


STAGES = ("demos", "convert r0", "train r0", "eval_r0", "rollouts_r0")  # in the order the run meets them


def stage(run):
    try:
        return json.loads((run / "status.json").read_text())["stage"]
    except (FileNotFoundError, json.JSONDecodeError):  # not yet written, or being written
        return None


def interrupt_in(run, command, name):
    """Start the run, send one SIGINT as soon as it is in stage `name` (in the demonstrations: after
    the first is kept), and check that it stops within 10 s and leaves no process behind."""
    import psutil

    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if stage(run) == name and (name != "demos" or lines(run / "episodes" / "demos.jsonl")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"ended before stage {name}: " + proc.communicate()[0][-3000:]
    children = psutil.Process(proc.pid).children(recursive=True)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(
            f"the interrupt in {name} was not taken: " + proc.communicate()[0][-3000:]
        ) from None
    took = time.monotonic() - sent
    assert proc.returncode == 130, f"{name}: {out[-3000:]}"
    assert "Run the same command again to continue" in out, out[-3000:]
    assert took < 10.0, f"stopping in {name} took {took:.1f} s"
    _, alive = psutil.wait_procs(children, timeout=1.0)
    assert not alive, f"left behind in {name}: {[p.cmdline()[:3] for p in alive]}"


def test_quick_demo_stops_on_an_interrupt_in_every_stage_and_resumes(tmp_path, ros_domain):
    run = tmp_path / "run"
    # Half real time: the Markov expert lifts in a few seconds, and the interrupt must land while
    # the demonstrations are still being recorded (after the first, before the last).
    command = [*KIWI, "demo", "--quick", "--sim-speed", "0.5", "--out", str(run)]
    interrupt_in(run, command, "demos")
    kept = run / "bags" / "demos" / "episode_0000"
    assert (kept / "metadata.yaml").exists(), "the finished episode is a closed bag"
    kept_mtime = {p.name: p.stat().st_mtime for p in kept.iterdir()}
    first_demo = lines(run / "episodes" / "demos.jsonl")[0]
    for name in STAGES[1:]:
        interrupt_in(run, command, name)

    second = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), timeout=900)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert {p.name: p.stat().st_mtime for p in kept.iterdir()} == kept_mtime, (
        "a finished episode is never redone"
    )
    demos = lines(run / "episodes" / "demos.jsonl")
    assert len(demos) == 2 and demos[0] == first_demo
    assert all(d["success"] for d in demos), "the expert lifts the cube in its demonstrations"

    results = json.loads((run / "report" / "results.json").read_text())
    report = (run / "report" / "README.md").read_text()
    for name in ("eval_r0", "eval_hg_r1", "eval_control", "eval_bc", "eval_r0_seed2"):
        episodes = lines(run / "episodes" / f"{name}.jsonl")
        assert len(episodes) == 2 and all(e["obstacle"] for e in episodes)
        assert [e["seed"] for e in episodes] == [900000, 900001], "every model on the held-out layouts"
        row = results["rows"][name]
        assert row["success"] == sum(e["success"] for e in episodes) / 2
        assert row["collisions_per_episode"] == sum(e["collisions"] for e in episodes) / 2
    assert "| kiwi_mlp + HG-DAgger, round 1 |" in report and "| control: round 0 + 10 steps" in report
    assert (
        "kiwi demo --quick --sim-speed 0.5 --out" in report
        and "lerobot-train --policy.type=kiwi_mlp" in report
    )
    for plot in ("success_vs_round.png", "trajectories.png"):
        assert (run / "report" / plot).stat().st_size > 1000
    # A video of each diagnosed model on its first development layout (1 in --quick), linked.
    for model in ("r0", "hg_r1", "control", "bc"):
        assert [e["seed"] for e in lines(run / "episodes" / f"dev_{model}.jsonl")] == [5000]
        assert (run / "report" / "videos" / f"dev_{model}.mp4").stat().st_size > 1000
        assert f"[mp4](videos/dev_{model}.mp4)" in report

    # The demonstrations' actions are the expert's commands: the base moves in them (a mapping that
    # missed the command topics once trained every policy to stand still).
    import numpy as np
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    frames = LeRobotDataset("local/r0", root=run / "datasets" / "r0").hf_dataset.with_format("numpy")
    twists = np.abs(np.stack(frames["action"])[:, -3:])
    assert twists.max(axis=0)[0] > 0.1, "no forward base command in the demonstrations' actions"

    # HG-DAgger adds only the expert's corrections, and round 1 continues round 0 (as does the
    # control) with round 0's normalization.
    hg = json.loads((run / "datasets" / "hg_r1" / "meta" / "kiwi_demo_sources.json").read_text())
    takeovers = sum(e["interventions"] for e in lines(run / "episodes" / "rollouts_r0.jsonl"))
    assert (run / "bags" / "rollouts_r0" / "episode_0001" / "metadata.yaml").exists()
    assert hg["rollouts"] == 2 and hg["demonstrations"] == 2
    # Each correction segment is written correction_weight times; segments shorter than a chunk none.
    from kiwi_experiments.plan import QUICK

    corrections = hg["episodes"] - 2
    assert corrections % QUICK.correction_weight == 0 and (corrections == 0 or takeovers > 0)
    stats = [(run / "datasets" / d / "meta" / "stats.json").read_text() for d in ("r0", "hg_r1")]
    assert stats[0] == stats[1]
    for name in ("hg_r1", "control"):
        log = (run / "logs" / f"train_{name}.log").read_text()
        assert f"--policy.path={run / 'models' / 'r0' / 'checkpoints' / 'last' / 'pretrained_model'}" in log


def node_process(demo, name):
    """The process of the graph node `name` that the demo `demo` started (None if there is none)."""
    import psutil

    for child in psutil.Process(demo.pid).children(recursive=True):
        try:
            if f"__node:={name}" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            pass
    return None


def wait_for(condition, timeout, demo):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and demo.poll() is None and not condition():
        time.sleep(0.05)
    assert condition(), demo.communicate()[0][-3000:] if demo.poll() is not None else "timed out"


def test_a_dead_policy_fails_its_rollout_and_a_dead_driver_stops_the_run(tmp_path, ros_domain):
    run = tmp_path / "run"
    command = [*KIWI, "demo", "--quick", "--sim-speed", "0.5", "--dagger-episodes", "3", "--out", str(run)]
    rollouts = run / "episodes" / "rollouts_r0.jsonl"
    bags = run / "bags" / "rollouts_r0"
    demo = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
    )
    try:
        # The policy node killed outright in the middle of the first rollout: that rollout fails,
        # saying why, and the next one runs in a new graph.
        wait_for(lambda: (bags / "episode_0000").exists() and node_process(demo, "policy"), 400, demo)
        time.sleep(1.0)
        node_process(demo, "policy").kill()
        wait_for(lambda: lines(rollouts), 60, demo)
        failed = lines(rollouts)[0]
        assert not failed["success"] and failed["failure"] == "node policy killed by SIGKILL", failed
        assert "failure" in failed["recorder"], "its bag is saved as a failure"
        # The sim's driver killed in the second: the run stops, one line naming it.
        wait_for(lambda: (bags / "episode_0001").exists() and node_process(demo, "driver"), 120, demo)
        node_process(demo, "driver").kill()
        out, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 1, out[-3000:]
    last = out.strip().splitlines()[-1]
    assert (
        last.startswith("kiwi demo: node driver killed by SIGKILL in rollouts_r0") and "Traceback" not in out
    )
    assert len(lines(rollouts)) == 1

    # The same command resumes: the cut-off rollout is run again, the failed one kept.
    again = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy()
    )
    try:
        wait_for(lambda: stage(run) not in (None, "rollouts_r0"), 400, again)
    finally:
        again.send_signal(signal.SIGINT)
        again.communicate(timeout=60)
    done = lines(rollouts)
    assert len(done) == 3 and done[0] == failed and all("failure" not in d for d in done[1:])
    assert all((bags / f"episode_{k:04d}" / "metadata.yaml").exists() for k in range(3))
