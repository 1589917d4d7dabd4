"""The user documentation holds: every link inside it resolves (files and headings), every `kiwi`,
`./run.sh` and `ros2 launch` command it shows parses as the code reads it, and the node reference
equals what the nodes declare."""

import re
import shlex
from pathlib import Path

import pytest

from kiwi_bringup.reference import render
from kiwi_common.graphs import GRAPHS, build_graph, parse_assignments
from kiwi_experiments.cli import parse_args

ROOT = Path(__file__).resolve().parents[3]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")])
PAGES = [p for p in PAGES if "-report" not in p.parent.name]  # a run's own generated report
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```(?:bash|sh|console)?\n(.*?)```", re.S)
LAUNCH_FILES = {"kiwi_policy": {"run.launch.py": "policy"}} | {
    "kiwi_bringup": {f"{name}.launch.py": name for name in GRAPHS if name != "policy"}
}


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def links(page: Path):
    text = FENCE.sub("", page.read_text())
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_links_resolve(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(
                f"{target}: no {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved}"
            )
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


def shown_commands():
    """(page, words) for each command line in the pages' shell blocks (continuations joined)."""
    for page in PAGES:
        for block in FENCE.findall(page.read_text()):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #", 1)[0].strip()
                if not line:
                    continue
                try:
                    yield page, shlex.split(line.replace("$(", "(").replace("<", "").replace(">", ""))
                except ValueError:  # a quote closed on a later line: a ros2 CLI's YAML, not ours
                    yield page, line.split()


def kiwi_argv(words: list[str]) -> list[str] | None:
    """The arguments to `kiwi` of a shown command, or None when it is not one."""
    for i, word in enumerate(words):
        if word in ("kiwi", ".venv/bin/kiwi") or word.endswith("/kiwi") and "bin" in word:
            return words[i + 1 :]
        if word == "./run.sh":
            return ["demo", *words[i + 1 :]]
    return None


COMMANDS = [(page, words) for page, words in shown_commands() if kiwi_argv(words) or "launch" in words]


def test_the_docs_show_commands():
    assert sum(1 for _, words in COMMANDS if kiwi_argv(words)) >= 20


@pytest.mark.parametrize(
    ("page", "words"), COMMANDS, ids=[f"{p.relative_to(ROOT)}: {' '.join(w)[:60]}" for p, w in COMMANDS]
)
def test_shown_commands_parse(page, words):
    argv = kiwi_argv(words)
    if argv is not None:
        args = parse_args(argv)  # argparse exits (SystemExit) on what `kiwi` would refuse
        if args.command == "launch":
            build_graph(args.graph, parse_assignments(args.assignments))
        return
    if words[:2] == ["ros2", "launch"]:
        package, launch_file, *assignments = words[2:]
        graph = LAUNCH_FILES.get(package, {}).get(launch_file)
        if graph is None and package == "nav2_bringup":
            return  # Nav2's own
        assert graph, f"no launch file {package} {launch_file}"
        build_graph(graph, parse_assignments([a for a in assignments if ":=" in a]))


def test_node_reference_equals_the_code():
    page = ROOT / "docs" / "reference" / "nodes.md"
    assert page.read_text() == render(), (
        "docs/reference/nodes.md differs from the nodes' declarations: "
        "run .venv/bin/python -m kiwi_bringup.reference docs/reference/nodes.md"
    )
