"""Bad input to every `kiwi` subcommand: truncated, bit-flipped, empty, wrong-type and missing bags,
datasets, checkpoints, mappings and arguments (a folder for a file, a file for a folder).

Each case runs the command line as a user types it (in this process, for speed) and must end with
exit status 1 or 2 and one line on stderr naming the input and what is wrong (argparse's usage lines
may precede its own), no traceback, nothing half-written; or, where the damage leaves a usable input
(a bit flipped inside a number, a bag cut after its last whole chunk), exit 0 with a whole result.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiwi_experiments.cli import main as kiwi

CASES = 200  # per subcommand
DATASET = "dataset/meta/info.json"  # a finished dataset


@dataclass
class Case:
    name: str  # what was done to which input
    mutate: Callable[[Path], None]  # applied to a fresh copy of the subcommand's inputs
    argv: Callable[[Path], list[str]]  # the command line, given that copy's folder
    names: tuple[str, ...]  # the error line must name one of these (input paths or option names)
    outputs: tuple[str, ...] = ()  # paths (relative to the copy) that must not exist after a failure
    whole: str = ""  # after a success, this (relative to the copy) must exist: the finished result


# --- damage ----------------------------------------------------------------------------------------


def truncate(path: Path, fraction: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def flip(path: Path, bit: int) -> None:
    data = bytearray(path.read_bytes())
    if data:
        data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    path.write_bytes(bytes(data))


def folder_for_file(path: Path) -> None:
    path.unlink()
    path.mkdir()


def file_for_folder(path: Path) -> None:
    shutil.rmtree(path)
    path.write_text("not a folder\n")


def remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def damages(path: str, rng: random.Random, n: int) -> list[tuple[str, Callable[[Path], None]]]:
    """`n` ways to damage the file `path` (relative to a case's folder): cut at random places,
    a random bit flipped, emptied, random bytes, JSON where binary belongs (or the reverse),
    a folder in its place, gone."""
    fixed = [
        ("emptied", lambda root: (root / path).write_bytes(b"")),
        ("random bytes", lambda root: (root / path).write_bytes(rng.randbytes(200))),
        ("wrong type", lambda root: (root / path).write_text('{"not": "this"}' if "." in path else "[]")),
        ("a folder in its place", lambda root: folder_for_file(root / path)),
        ("gone", lambda root: remove(root / path)),
    ]
    out = list(fixed)
    while len(out) < n:
        if len(out) % 2:
            cut = rng.random()
            out.append((f"cut at {cut:.3f}", lambda root, cut=cut: truncate(root / path, cut)))
        else:
            bit = rng.randrange(1 << 24)
            out.append((f"bit {bit} flipped", lambda root, bit=bit: flip(root / path, bit)))
    return [(f"{path}: {what}", mutate) for what, mutate in out[:n]]


def folder_damages(folder: str) -> list[tuple[str, Callable[[Path], None]]]:
    """The folder `folder` (relative to a case's folder) replaced by a file, gone, or emptied."""
    return [
        (f"{folder}: a file in its place", lambda root: file_for_folder(root / folder)),
        (f"{folder}: gone", lambda root: remove(root / folder)),
        (f"{folder}: emptied", lambda root: [remove(p) for p in (root / folder).iterdir()]),
    ]


def under_a_file(option: str, argv: Callable[[Path, Path], list[str]]) -> Case:
    """`option` given a path inside a file: `argv(root, that path)`."""
    return Case(
        f"{option} under a file",
        lambda root: (root / "afile").write_text("x"),
        lambda root: argv(root, root / "afile" / "output"),
        ("afile",),
    )


# --- running and judging ---------------------------------------------------------------------------


PROGRESS = re.compile(r"^[^|]*: *\d+%\|")  # a tqdm progress bar's line (stderr is where bars go)


def run(argv: list[str], capfd) -> tuple[int, str]:
    try:
        code = kiwi(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capfd.readouterr().err  # what native code printed as well


def judge(case: Case, root: Path, capfd) -> str:
    """'ok' (the input was still usable) or 'refused'; fails the test otherwise."""
    case.mutate(root)
    argv = case.argv(root)
    code, err = run(argv, capfd)
    where = f"{case.name}: kiwi {' '.join(argv)}"
    assert "Traceback" not in err, f"{where}\n{err[-3000:]}"
    if code == 0:
        assert not case.whole or (root / case.whole).exists(), f"{where}: exit 0 without {case.whole}"
        return "ok"
    assert code in (1, 2), f"{where}: exit {code}\n{err[-2000:]}"
    lines = [
        line
        for line in err.replace("\r", "\n").splitlines()
        if line.strip() and not line.startswith("warning: ") and not PROGRESS.match(line)
    ]
    error = lines[-1] if lines else ""
    if code == 2 and lines[0].startswith("usage:"):
        assert ": error: " in error, f"{where}: {err[-2000:]}"  # argparse: its usage, then the error
    else:
        assert len(lines) == 1, f"{where}: not one line on stderr:\n{err[-2000:]}"
    assert any(name in error for name in case.names), f"{where}: {error!r} names none of {case.names}"
    for output in case.outputs:
        assert not (root / output).exists(), f"{where}: left {output} behind"
    return "refused"


def fuzz(cases: list[Case], base: Path, tmp_path: Path, capfd) -> dict[str, int]:
    assert len(cases) >= CASES, len(cases)
    outcomes = {"ok": 0, "refused": 0}
    for k, case in enumerate(cases):
        root = tmp_path / f"case{k:03d}"
        shutil.copytree(base, root)
        outcomes[judge(case, root, capfd)] += 1
        shutil.rmtree(root)
    return outcomes


# --- convert ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bags(tmp_path_factory):
    """A folder with two episode bags, a correction bag and their mapping file."""
    from kiwi_recorder.synthetic import gated_mapping, write_gated_episode

    base = tmp_path_factory.mktemp("bags")
    write_gated_episode(base / "demos" / "episode_0000", frames=90)
    write_gated_episode(base / "demos" / "episode_0001", frames=60)
    write_gated_episode(base / "corrections" / "episode_0000", frames=60)
    (base / "mapping.json").write_text(gated_mapping().to_json())
    return base


def convert_argv(root: Path, *extra: str) -> list[str]:
    return [
        "convert",
        str(root / "demos"),
        "--corrections",
        str(root / "corrections"),
        "--mapping",
        str(root / "mapping.json"),
        "--no-videos",
        "--out",
        str(root / "dataset"),
        *extra,
    ]


def convert_cases() -> list[Case]:
    rng = random.Random(31)
    mcap = "demos/episode_0000/episode_0000.mcap"
    cases = []
    inputs = {
        mcap: 70,
        "demos/episode_0000/metadata.yaml": 30,
        "corrections/episode_0000/episode_0000.mcap": 40,
        "mapping.json": 40,
    }
    for path, n in inputs.items():
        for name, mutate in damages(path, rng, n):
            named = (str(Path(path).parent), path.split("/")[0]) if "/" in path else ("mapping",)
            cases.append(Case(name, mutate, convert_argv, named, ("dataset",), DATASET))
    for folder in ("demos", "corrections", "demos/episode_0001"):
        for name, mutate in folder_damages(folder):
            cases.append(Case(name, mutate, convert_argv, (folder,), ("dataset",)))
    nothing = lambda root: None  # noqa: E731
    for option, values in {
        "--fps": ["0", "-30", "nan", "inf", "abc", ""],
        "--image-size": ["0x0", "axb", "96", "-1x5", "96x96x3"],
        "--correction-weight": ["0", "-3", "1.5"],
        "--min-segment-frames": ["0", "x"],
        "--crf": ["-1", "99", "q"],
        "--vcodec": ["mpeg2"],
    }.items():
        for value in values:
            cases.append(
                Case(
                    f"{option} {value!r}",
                    nothing,
                    lambda root, o=option, v=value: convert_argv(root, o, v),
                    (option, option.strip("-"), value or "fps"),
                    ("dataset",),
                )
            )
    for what, mutate in (
        ("an existing file", lambda root: (root / "dataset").write_text("x")),
        ("an existing folder", lambda root: (root / "dataset").mkdir()),
    ):
        cases.append(Case(f"--out: {what}", mutate, convert_argv, ("dataset",)))
    cases.append(under_a_file("--out", lambda root, out: [*convert_argv(root)[:-1], str(out)]))
    return cases


def test_convert_refuses_bad_input_in_one_line(bags, tmp_path, capfd):
    outcomes = fuzz(convert_cases(), bags, tmp_path, capfd)
    assert outcomes["refused"] >= CASES // 2, outcomes
    print(outcomes)


# --- viz -------------------------------------------------------------------------------------------

DATASET_FILES = {
    "meta/info.json": 45,
    "meta/stats.json": 15,
    "meta/kiwi_mapping.json": 15,
    "meta/tasks.parquet": 15,
    "meta/episodes/chunk-000/file-000.parquet": 25,
    "data/chunk-000/file-000.parquet": 35,
}


@pytest.fixture(scope="module")
def recorded(bags, tmp_path_factory):
    """An episode bag and the state-only dataset converted from the synthetic bags."""
    from kiwi_recorder.convert import convert
    from kiwi_recorder.synthetic import gated_mapping

    base = tmp_path_factory.mktemp("recorded")
    shutil.copytree(bags / "demos" / "episode_0000", base / "bag")
    convert(
        sorted((bags / "demos").iterdir()),
        base / "ds",
        mapping=gated_mapping(),
        use_videos=False,
        progress=False,
    )
    return base


def viz_argv(source: str, *extra: str):
    return lambda root: ["viz", str(root / source), "--viewer", str(root / "out.rrd"), *extra]


def viz_cases() -> list[Case]:
    rng = random.Random(37)
    cases = []
    for path, n in {"bag/episode_0000.mcap": 45, "bag/metadata.yaml": 15}.items():
        for name, mutate in damages(path, rng, n):
            cases.append(Case(name, mutate, viz_argv("bag"), ("bag",), ("out.rrd",), "out.rrd"))
    for path, n in DATASET_FILES.items():
        for name, mutate in damages(f"ds/{path}", rng, n):
            cases.append(Case(name, mutate, viz_argv("ds"), ("ds",), ("out.rrd",), "out.rrd"))
    nothing = lambda root: None  # noqa: E731
    for source in ("bag", "ds", "ds/meta", "ds/data"):
        top = source.split("/")[0]
        for name, mutate in folder_damages(source):
            cases.append(Case(name, mutate, viz_argv(top), (top,), ("out.rrd",), "out.rrd"))
    for value in ("-1", "2", "99", "x", ""):
        cases.append(Case(f"--episode {value!r}", nothing, viz_argv("ds", "--episode", value), ("episode",)))
    cases.append(under_a_file("--viewer", lambda root, out: ["viz", str(root / "ds"), "--viewer", str(out)]))
    return cases


def test_viz_refuses_bad_input_in_one_line(recorded, tmp_path, capfd):
    outcomes = fuzz(viz_cases(), recorded, tmp_path, capfd)
    assert outcomes["refused"] >= CASES // 4, outcomes
    print(outcomes)


# --- train -----------------------------------------------------------------------------------------


def train_argv(*extra: str):
    return lambda root: [
        "train",
        str(root / "ds"),
        "--policy",
        "kiwi_mlp",
        "--out",
        str(root / "model"),
        *extra,
    ]


def train_cases() -> list[Case]:
    """Damaged datasets with --check (what training reads, read before lerobot-train starts; exit 0
    means training would start), then options and --out, each refused before lerobot-train starts."""
    rng = random.Random(41)
    cases = []
    for path, n in DATASET_FILES.items():
        for name, mutate in damages(f"ds/{path}", rng, n + 5):
            cases.append(Case(name, mutate, train_argv("--check"), ("ds",), ("model",)))
    nothing = lambda root: None  # noqa: E731
    for folder in ("ds", "ds/meta", "ds/data", "ds/meta/episodes"):
        for name, mutate in folder_damages(folder):
            cases.append(Case(name, mutate, train_argv("--check"), ("ds",), ("model",)))
            cases.append(Case(f"{name}, training", mutate, train_argv(), ("ds",), ("model",)))
    for option, values in {
        "--steps": ["0", "-5", "x", "1.5"],
        "--batch-size": ["0", "-1", "y"],
        "--seed": ["z", ""],
        "--policy": ["nonsense", ""],
    }.items():
        for value in values:
            argv = lambda root, o=option, v=value: [*train_argv()(root), o, v]  # noqa: E731
            cases.append(Case(f"{option} {value!r}", nothing, argv, (option.strip("-"), value or "policy")))
    for what, mutate in (
        ("an existing file", lambda root: (root / "model").write_text("x")),
        ("an existing folder", lambda root: (root / "model").mkdir()),
    ):
        cases.append(Case(f"--out: {what}", mutate, train_argv(), ("model",)))
    cases.append(
        under_a_file(
            "--out", lambda root, out: ["train", str(root / "ds"), "--policy", "kiwi_mlp", "--out", str(out)]
        )
    )
    return cases


def test_train_refuses_bad_input_in_one_line(recorded, tmp_path, capfd):
    outcomes = fuzz(train_cases(), recorded, tmp_path, capfd)
    assert outcomes["refused"] >= CASES // 2, outcomes
    print(outcomes)


# --- launch ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(recorded, tmp_path_factory):
    """A tiny kiwi_mlp trained 2 steps on the recorded dataset (its pretrained_model folder)."""
    from kiwi_policy.train import train

    base = tmp_path_factory.mktemp("checkpoint")
    pretrained = train(recorded / "ds", "kiwi_mlp", base / "run", steps=2, batch_size=2, log=base / "log")
    shutil.copytree(pretrained, base / "model")
    shutil.rmtree(base / "run")
    return base


def bad_values(arg) -> list[str]:
    """Values a launch argument cannot take, by what its default and choices say it is."""
    if arg.choices:
        return ["nonesuch", ""]
    if re.fullmatch(r"\d+", arg.default):
        return ["x", "1.5", ""]
    if re.fullmatch(r"\d+\.\d+", arg.default):
        return ["x", "nan", ""]
    return []


def launch_cases() -> list[Case]:
    from kiwi_common.graphs import GRAPHS

    rng = random.Random(43)
    cases = []
    nothing = lambda root: None  # noqa: E731

    def launch(graph: str, *assignments: str):
        def argv(root: Path) -> list[str]:
            has_model = graph in GRAPHS and any(a.name == "model" for a in GRAPHS[graph].args)
            model = [f"model:={root / 'model'}"] if has_model else []
            return ["launch", graph, *model, *assignments, "--dry-run"]

        return argv

    for graph in ("", "sims", "SIM", "../sim", "sim;ls", "policy.launch.py"):
        cases.append(Case(f"graph {graph!r}", nothing, launch(graph), ("graph", graph or "graph")))
    for graph in GRAPHS.values():
        for arg in graph.args:
            for value in bad_values(arg):
                cases.append(
                    Case(
                        f"{graph.name} {arg.name}:={value}",
                        nothing,
                        launch(graph.name, f"{arg.name}:={value}"),
                        (arg.name,),
                    )
                )
        for items in (["nosuch:=1"], ["seed=3"], [":=3"], ["=="]):
            cases.append(
                Case(
                    f"{graph.name} {items}",
                    nothing,
                    launch(graph.name, *items),
                    ("nosuch", "seed", ":=3", "=="),
                )
            )
    model = launch("policy")
    files = {
        "model/config.json": 20,
        "model/model.safetensors": 20,
        "model/kiwi_mapping.json": 15,
        "model/policy_preprocessor.json": 8,
        "model/policy_preprocessor_step_3_normalizer_processor.safetensors": 8,
    }
    for path, n in files.items():
        for name, mutate in damages(path, rng, n):
            # The damaged file, or (a changed but readable config or mapping) the features' mismatch.
            named = (Path(path).name, "does not fit the robot's mapping")
            cases.append(Case(name, mutate, model, named))
    for name, mutate in folder_damages("model"):
        cases.append(Case(name, mutate, model, ("model",)))
    return cases


def test_launch_refuses_bad_input_in_one_line(checkpoint, tmp_path, capfd):
    outcomes = fuzz(launch_cases(), checkpoint, tmp_path, capfd)
    assert outcomes["refused"] >= CASES // 2, outcomes
    print(outcomes)


# --- demo's resume ---------------------------------------------------------------------------------

DEMO = ["demo", "--quick", "--backend", "env", "--rounds", "0"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished `kiwi demo --quick --backend env --rounds 0` run folder (`run`)."""
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "kiwi_experiments.cli", *DEMO, "--out", str(base / "run")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return base


def demo_argv(*extra: str):
    return lambda root: [*DEMO, "--out", str(root / "run"), *extra]


def demo_cases() -> list[Case]:
    """The run folder's own records damaged (its settings, the code that made it, the episodes kept
    so far, the timings, the stage), its folders replaced by files, the options changed, then the
    same command run again."""
    rng = random.Random(47)
    cases = []
    report = "run/report/README.md"
    for path, n in {
        "run/config.json": 50,
        "run/code.json": 40,
        "run/timings.json": 15,
        "run/status.json": 8,
        "run/mapping.json": 8,
        "run/episodes/demos.jsonl": 30,
        "run/episodes/eval_r0.jsonl": 30,
        "run/datasets/r0/meta/kiwi_demo_sources.json": 8,
    }.items():
        for name, mutate in damages(path, rng, n):
            # The report goes first: an exit 0 must have made it again.
            damage = lambda root, m=mutate: ((root / report).unlink(), m(root))  # noqa: E731
            cases.append(Case(name, damage, demo_argv(), (Path(path).name,), (), report))
    for folder in ("episodes", "datasets", "models", "report", "logs"):
        cases.append(
            Case(
                f"run/{folder}: a file in its place",
                lambda root, f=folder: file_for_folder(root / "run" / f),
                demo_argv(),
                (folder,),
            )
        )
    nothing = lambda root: None  # noqa: E731
    for option, values in {
        "--correction-weight": ["0", "-2", "x"],
        "--rounds": ["1", "x"],
        "--seed": ["y", "1.5"],
        "--sim-speed": ["abc", ""],
        "--timeout-s": ["q"],
        "--policy": ["nonsense"],
        "--backend": ["both"],
    }.items():
        for value in values:
            named = (option, option.strip("-"), option.strip("-").replace("-", "_"))
            cases.append(Case(f"{option} {value!r}", nothing, demo_argv(option, value), named))
    cases.append(under_a_file("--out", lambda root, out: [*DEMO, "--out", str(out)]))
    return cases


def test_demo_resume_refuses_bad_input_in_one_line(finished_run, tmp_path, capfd):
    outcomes = fuzz(demo_cases(), finished_run, tmp_path, capfd)
    assert outcomes["refused"] >= CASES // 4, outcomes
    print(outcomes)
