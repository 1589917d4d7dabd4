"""The workspace's package graph: every package.xml declares what its code imports (as rosdep keys)
and the nodes its launch files start, and the Kiwi packages form no cycle (colcon refuses one)."""

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kiwi_common.graphs import GRAPHS, argument_variants, build_graph

SRC = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "package.xml").exists())

# Python modules whose rosdep key is not the module's own name.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "yaml": "python3-yaml",
    "cv2": "python3-opencv",
    "av": "python3-av",
    "matplotlib": "python3-matplotlib",
    "tqdm": "python3-tqdm",
    "pytest": "python3-pytest",
    "setuptools": "python3-setuptools",
    "PIL": "python3-pil",
    "websockets": "python3-websockets",
    "psutil": "python3-psutil",
}
# From pip only (no rosdep key on Ubuntu 24.04); README "Dependencies" lists them.
PIP_ONLY = {"lerobot", "torch", "mujoco", "rosbags", "dockerfile", "gymnasium", "rerun", "pyarrow"}
# ROS packages of a full install that graphs start with `ros2 run` where present; optional ones
# (rviz2, only with rviz:=true) need no declaration.
OPTIONAL_NODES = {"rviz2"}


def declared(package: str) -> dict[str, set[str]]:
    """{'exec': keys needed at run time, 'test': keys for tests} from package.xml (format 3)."""
    root = ET.parse(SRC / package / "package.xml").getroot()
    tags = {
        tag: {e.text.strip() for e in root.iter(tag)}
        for tag in ("depend", "exec_depend", "build_depend", "test_depend", "build_export_depend")
    }
    run = tags["depend"] | tags["exec_depend"]
    return {"exec": run, "test": run | tags["test_depend"]}


def imported_modules(files) -> set[str]:
    """Top-level names of every absolute import, including those inside functions."""
    names = set()
    for path in files:
        for node in ast.walk(ast.parse(Path(path).read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def required_keys(modules: set[str], own: str) -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    return {ROSDEP_KEYS.get(m, m) for m in modules if m not in stdlib and m not in PIP_ONLY and m != own}


def runtime_files(package: str):
    root = SRC / package
    return [*(root / package).rglob("*.py"), *(root / "launch").glob("*.py")]


def launched_packages(package: str) -> set[str]:
    """Packages whose nodes this package's launch files start, over every argument variant."""
    graphs = {f.name.removesuffix(".launch.py") for f in (SRC / package / "launch").glob("*.launch.py")}
    # kiwi_policy's run.launch.py is the policy graph under the name ROS users know.
    graphs = {"policy" if g == "run" else g for g in graphs}
    return (
        {
            spec.package
            for g in graphs
            for over in argument_variants(GRAPHS[g])
            for spec in build_graph(g, over)
        }
        - OPTIONAL_NODES
        - {package}
    )


def cycle(deps: dict[str, set[str]]) -> list[str] | None:
    """A dependency cycle among the given packages (as a path that returns to its start), or None."""
    state: dict[str, str] = {}

    def visit(name, path):
        state[name] = "open"
        for dep in sorted(deps.get(name, ()) & deps.keys()):
            if state.get(dep) == "open":
                return path[path.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep, path + [dep])):
                return found
        state[name] = "done"
        return None

    for name in sorted(deps):
        if name not in state and (found := visit(name, [name])):
            return found
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_run_time_imports_and_launched_nodes_are_exec_depends(package):
    needed = required_keys(imported_modules(runtime_files(package)), package) | launched_packages(package)
    missing = needed - declared(package)["exec"]
    assert not missing, (
        f"{package}/package.xml lacks <exec_depend> (or <depend>) on: {', '.join(sorted(missing))}"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_test_imports_are_declared(package):
    needed = required_keys(imported_modules((SRC / package / "test").rglob("*.py")), package)
    missing = needed - declared(package)["test"]
    assert not missing, f"{package}/package.xml lacks <test_depend> on: {', '.join(sorted(missing))}"


def test_kiwi_packages_form_no_cycle():
    deps = {p: declared(p)["test"] for p in PACKAGES}
    assert cycle(deps) is None, f"package.xml dependencies form a cycle: {' -> '.join(cycle(deps))}"


def test_cycle_finder_names_the_cycle_colcon_refused():
    # The workspace as it was: kiwi_policy exec-depended on kiwi_bringup, which depended on kiwi_policy.
    deps = {
        "kiwi_bringup": {"kiwi_policy", "kiwi_driver", "rclpy"},
        "kiwi_policy": {"kiwi_bringup", "kiwi_driver"},
        "kiwi_driver": {"kiwi_description"},
        "kiwi_description": set(),
    }
    assert cycle(deps) == ["kiwi_bringup", "kiwi_policy", "kiwi_bringup"]
    deps["kiwi_policy"].discard("kiwi_bringup")
    assert cycle(deps) is None


def test_lower_packages_never_import_higher_ones():
    """The layers the README draws: description < common < node packages < bringup < experiments."""
    layer = {
        "lerobot_policy_kiwi": 0,  # a LeRobot policy, knows nothing of Kiwi
        "kiwi_description": 0,
        "kiwi_common": 1,
        "kiwi_driver": 2,
        "kiwi_teleop": 2,
        "kiwi_recorder": 2,
        "kiwi_policy": 2,
        "kiwi_bringup": 3,
        "lerobot_env_kiwi": 3,
        "kiwi_viz": 3,  # shows any node's topics; reads bags through kiwi_recorder
        "kiwi_experiments": 4,
    }
    assert set(layer) == set(PACKAGES), "a new package needs its place in the README's graph and here"
    for package in PACKAGES:
        for module in imported_modules(runtime_files(package)) & set(layer):
            assert layer[module] < layer[package] or module == package, f"{package} imports {module}"


def module_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The Kiwi modules `module` (at `path`) imports, anywhere in it (deferred imports count too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names = [target, *(f"{target}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in known and name != module}
    return found


def test_no_module_imports_itself_through_others():
    """Modules, not only packages, form no cycle: each layer reads top-down."""
    files = {}
    for package in PACKAGES:
        for path in (SRC / package / package).rglob("*.py"):
            parts = path.relative_to(SRC / package).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {module: module_imports(path, module, set(files)) for module, path in files.items()}
    done, path = set(), []

    def visit(module):
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_no_sys_path_edits():
    """Modules are found by installation, never by editing the import path."""
    root = SRC.parent
    edits = [
        f"{path.relative_to(root)}:{n}"
        for folder in (SRC, root / "benchmarks", root / "scripts")
        for path in folder.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "sys.path" in line and "test_package_graph.py" not in str(path)
    ]
    assert edits == []
