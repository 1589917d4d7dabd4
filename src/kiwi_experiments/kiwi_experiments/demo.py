"""`kiwi demo`: the whole imitation-learning loop in the sim, hands-off, ending in a report.

1. The scripted expert records demonstrations through the `record` graph (two in three with the
   obstacle; the expert draws its detour side per episode).
2. They are converted (state-only mapping: joint states plus the cube and obstacle relative to
   the robot from the sim's ground truth; actions are the expert's commands) and two policies are
   trained with `lerobot-train`: the chunked policy (ACT by default, or Diffusion) and a
   single-step BC policy (ACT reduced to one action, no VAE: a unimodal regressor).
3. Each policy is evaluated through the `dagger` graph (policy node, mux, expert labelling only,
   recorder) on fresh obstacle layouts: success, collisions, time, which side it passed, and the
   expert-labelled error of its actions on the states it visits.
4. DAgger rounds: the chunked policy drives with the expert taking over when it leaves the
   gate's envelope (HG-DAgger; only the intervention segments are added to the data); the BC
   policy drives with the expert labelling every state it visits (DAgger with a scripted
   oracle; whole rollouts are added). Retrain on all data so far, evaluate again.
5. The report: table, plots, the commands and seeds (`report/README.md`).

Every stage leaves its result in the output folder and is skipped when it is already there, so an
interrupted run continues where it stopped when started again with the same options: finished
episodes are kept (an episode cut off mid-way is recorded again), a dataset or model that was not
finished is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from kiwi_bringup.runner import GraphRunner, fully_qualified_name
from kiwi_common.features import MAPPING_FILE, Mapping
from kiwi_common.graphs import build_graph
from kiwi_policy.train import CPU_DEFAULTS

from .episodes import EpisodeClient, EpisodeError, EpisodePlan
from .evaluation import aggregate, summarize


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoConfig:
    policy: str = "act"  # the chunked policy: act or diffusion
    demos: int = 30
    eval_episodes: int = 10
    rounds: int = 2  # DAgger rounds after the first training
    dagger_episodes: int = 10  # rollouts per DAgger round and method
    steps: int = 3000
    batch_size: int = 32
    sim_speed: float = 2.0
    timeout_s: float = 20.0  # sim seconds a rollout may take
    seed: int = 0

    def plans(self, kind: str, count: int, round_: int = 0) -> list[EpisodePlan]:
        """Scene seeds: demonstrations two in three with the obstacle, DAgger rollouts and the
        evaluation always (the obstacle task: corrections are needed there); every kind and round
        its own seeds."""
        base = self.seed * 100_000 + {"demos": 1000, "rollouts": 2000 + 100 * round_, "eval": 5000}[kind]
        return [EpisodePlan(base + k, kind != "demos" or k % 3 != 2) for k in range(count)]


# HG-DAgger's corrections: each segment twice in the dataset (a correction frame weighs two
# demonstration frames: they are few, and they are where the policy fails), and none shorter
# than the policy's chunk (shorter ones teach no whole chunk).
CORRECTION_WEIGHT = 2


def chunk_frames(policy: str) -> int:
    settings = CPU_DEFAULTS[policy]
    return int(settings.get("chunk_size", settings.get("horizon", 1)))


EXPERT_TIMEOUT_S = 15.0  # the expert lifts within 3-7 s of sim time (README); more means it is stuck
QUICK = DemoConfig(
    demos=2, eval_episodes=2, rounds=1, dagger_episodes=2, steps=10, batch_size=8, timeout_s=5.0
)


@dataclass(frozen=True)
class Method:
    key: str
    label: str
    policy: str
    train_args: tuple[str, ...]
    takeover: str  # the expert in DAgger rollouts: gate (HG-DAgger) or never (oracle labels)
    corrections_only: bool  # add only the intervention segments of rollouts


POLICY_NAMES = {"act": "ACT", "diffusion": "Diffusion"}


def methods(policy: str) -> list[Method]:
    return [
        Method("chunked", f"{POLICY_NAMES[policy]}, chunked (+ HG-DAgger)", policy, (), "gate", True),
        Method(
            "bc",
            "single-step BC (+ DAgger, scripted oracle)",
            "act",
            ("--policy.chunk_size=1", "--policy.n_action_steps=1", "--policy.use_vae=false"),
            "never",
            False,
        ),
    ]


def dataset_name(method: Method, round_: int) -> str:
    """Round 0 is the demonstrations alone, one dataset for every method; later rounds are per method."""
    return "r0" if round_ == 0 else f"{method.key}_r{round_}"


def demo_mapping() -> Mapping:
    """State-only, and the action is the expert's command (/teleop/...): in demonstrations and
    interventions that is what the mux sent; in oracle rollouts it is the expert's label."""
    return replace(
        Mapping().state_only(), arm_command_topic="teleop/arm/command", cmd_vel_topic="teleop/cmd_vel"
    )


KIWI_PACKAGES = (
    "kiwi_description",
    "kiwi_common",
    "kiwi_driver",
    "kiwi_teleop",
    "kiwi_recorder",
    "kiwi_policy",
    "kiwi_bringup",
    "kiwi_experiments",
    "lerobot_env_kiwi",
    "lerobot_policy_kiwi",
)


def code_version() -> dict:
    """The code that makes a run: a fingerprint of every source file of the Kiwi packages (what a
    resumed run must match), and the git commit with whether the tree differs from it, where the
    packages sit in a git checkout."""
    import hashlib
    import importlib.util
    import subprocess

    digest, folders = hashlib.sha256(), []
    for name in KIWI_PACKAGES:
        spec = importlib.util.find_spec(name)
        folder = Path(next(iter(spec.submodule_search_locations)))
        folders.append(folder)
        for path in sorted(folder.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(folder)}\n".encode() + path.read_bytes())
    git = ["git", "-C", str(folders[0])]
    try:
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        )
        commit, dirty = commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {"fingerprint": digest.hexdigest()[:16], "commit": commit, "dirty": dirty}


class Demo:
    def __init__(self, out: Path, config: DemoConfig, argv: list[str], progress: bool = True):
        self.out, self.config, self.argv, self.progress = Path(out), config, argv, progress
        self.methods = methods(config.policy)
        self.timings: dict[str, float] = {}

    # --- folders and resume ----------------------------------------------------------------------

    def prepare(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        saved = self.out / "config.json"
        if saved.exists():
            previous = json.loads(saved.read_text())
            if previous != asdict(self.config):
                changed = ", ".join(
                    f"{k} {previous.get(k)} -> {v}"
                    for k, v in asdict(self.config).items()
                    if previous.get(k) != v
                )
                raise DemoError(
                    f"{self.out} holds a run with other settings ({changed}); "
                    f"give a new --out, or --fresh to start over"
                )
        saved.write_text(json.dumps(asdict(self.config), indent=2))
        self.code = code_version()
        code = self.out / "code.json"
        if code.exists():
            made_by = json.loads(code.read_text())
            if made_by["fingerprint"] != self.code["fingerprint"]:
                raise DemoError(
                    f"{self.out} holds stages made by other code (commit {made_by['commit']}, sources "
                    f"{made_by['fingerprint']}; now {self.code['commit']}, {self.code['fingerprint']}): "
                    f"their results would mix; give a new --out, or --fresh to start over"
                )
        code.write_text(json.dumps(self.code, indent=2))
        (self.out / "mapping.json").write_text(demo_mapping().to_json())
        for sub in ("bags", "episodes", "datasets", "models", "logs", "report"):
            (self.out / sub).mkdir(exist_ok=True)
        self.timings = self._load_json("timings.json", {})

    def _load_json(self, name: str, default):
        path = self.out / name
        return json.loads(path.read_text()) if path.exists() else default

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - started, 1)
        (self.out / "timings.json").write_text(json.dumps(self.timings, indent=2))

    # --- episodes --------------------------------------------------------------------------------

    def episodes(
        self,
        name: str,
        graph: str,
        args: dict[str, str],
        plans: list[EpisodePlan],
        policy: bool,
        timeout_s: float | None = None,
    ) -> list[dict]:
        """Run (or finish) a batch of episodes in one graph session; their summaries."""
        from tqdm import tqdm

        summaries_path = self.out / "episodes" / f"{name}.jsonl"
        done = read_summaries(summaries_path)
        bags = self.out / "bags" / name
        bags.mkdir(parents=True, exist_ok=True)
        for stray in sorted(bags.glob("episode_*")):  # cut off mid-way: recorded again
            if int(stray.name.removeprefix("episode_")) >= len(done):
                shutil.rmtree(stray)
        todo = plans[len(done) :]
        if not todo:
            return done
        started = time.monotonic()
        specs = build_graph(
            graph,
            {
                **args,
                "out_dir": str(bags),
                "mapping": str(self.out / "mapping.json"),
                "sim_speed": str(self.config.sim_speed),
                "cameras": "false",
                "expert_seed": str(self.config.seed),
            },
        )
        with open(self.out / "logs" / f"{name}.log", "a") as log, _Session(specs, log) as session:
            client = session.client
            bar = tqdm(
                total=len(plans), initial=len(done), desc=name, unit="episode", disable=not self.progress
            )
            with bar, summaries_path.open("a") as sink:
                for plan in todo:
                    session.check()
                    try:
                        result = client.run(plan, timeout_s or self.config.timeout_s, policy)
                    except EpisodeError:
                        session.check()  # a node that died is the better explanation
                        raise
                    summary = {
                        **summarize(result.rollout),
                        "obstacle_layout": plan.obstacle,
                        "recorder": result.saved,
                    }
                    sink.write(json.dumps(summary) + "\n")
                    sink.flush()
                    done.append(summary)
                    bar.set_postfix(lifted=f"{sum(s['success'] for s in done)}/{len(done)}")
                    bar.update()
        self._timed(name, started)
        return done

    # --- data and training -----------------------------------------------------------------------

    def dataset(self, method: Method, round_: int) -> Path:
        """All demonstrations plus what the method's earlier rollouts added."""
        from kiwi_recorder.convert import convert, find_bags

        name = dataset_name(method, round_)
        out = self.out / "datasets" / name
        if out.exists():
            return out
        started = time.monotonic()
        demos = find_bags(self.out / "bags" / "demos")
        rollouts = [
            bag for r in range(round_) for bag in find_bags(self.out / "bags" / f"rollouts_{method.key}_r{r}")
        ]
        corrections = rollouts if method.corrections_only else []
        whole = demos + ([] if method.corrections_only else rollouts)
        summary = convert(
            whole,
            out,
            mapping=demo_mapping(),
            use_videos=False,
            corrections=corrections,
            progress=self.progress,
            correction_weight=CORRECTION_WEIGHT,
            min_segment_frames=chunk_frames(method.policy),
        )
        (out / "meta" / "kiwi_demo_sources.json").write_text(
            json.dumps(
                {
                    "demonstrations": len(demos),
                    "rollouts": len(rollouts),
                    "corrections_only": method.corrections_only,
                    **summary,
                },
                indent=2,
            )
        )
        self._timed(f"convert {name}", started)
        return out

    def model(self, method: Method, round_: int, dataset: Path) -> Path:
        from tqdm import tqdm

        from kiwi_policy.train import train

        out = self.out / "models" / f"{method.key}_r{round_}"
        pretrained = out / "checkpoints" / "last" / "pretrained_model"
        if (pretrained / MAPPING_FILE).exists():
            return pretrained
        shutil.rmtree(out, ignore_errors=True)  # an unfinished run: LeRobot will not continue it
        started = time.monotonic()
        bar = tqdm(
            total=self.config.steps,
            desc=f"train {method.key}_r{round_}",
            unit="step",
            disable=not self.progress,
        )
        with bar:
            result = train(
                dataset,
                method.policy,
                out,
                steps=self.config.steps,
                batch_size=self.config.batch_size,
                seed=self.config.seed + 1000,
                extra=list(method.train_args),
                log=self.out / "logs" / f"train_{method.key}_r{round_}.log",
                on_step=lambda step: bar.update(max(0, step - bar.n)),
            )
            bar.update(self.config.steps - bar.n)
        self._timed(f"train {method.key}_r{round_}", started)
        return result

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> Path:
        from .report import write_report

        self.prepare()
        c = self.config
        results = {
            "demos": self.episodes(
                "demos",
                "record",
                {"teleop": "expert"},
                c.plans("demos", c.demos),
                policy=False,
                timeout_s=max(c.timeout_s, EXPERT_TIMEOUT_S),
            )
        }
        for round_ in range(c.rounds + 1):
            for method in self.methods:
                model = self.model(method, round_, self.dataset(method, round_))
                tag = f"{method.key}_r{round_}"
                graph_args = {"model": str(model), "takeover": "never"}
                results[f"eval_{tag}"] = self.episodes(
                    f"eval_{tag}", "dagger", graph_args, c.plans("eval", c.eval_episodes), policy=True
                )
                if round_ < c.rounds:
                    results[f"rollouts_{tag}"] = self.episodes(
                        f"rollouts_{tag}",
                        "dagger",
                        {**graph_args, "takeover": method.takeover},
                        c.plans("rollouts", c.dagger_episodes, round_),
                        policy=True,
                    )
        rows = {name: aggregate(summaries) for name, summaries in results.items()}
        return write_report(self, results, rows)


def read_summaries(path: Path) -> list[dict]:
    """The finished episodes' summaries; a last line cut off by a kill is dropped (and rewritten away)."""
    if not path.exists():
        return []
    summaries = []
    for line in path.read_text().splitlines():
        try:
            summaries.append(json.loads(line))
        except json.JSONDecodeError:
            break
    path.write_text("".join(json.dumps(s) + "\n" for s in summaries))
    return summaries


class _Session:
    """A graph's nodes as processes (their output to `log`) plus the episode client."""

    def __init__(self, specs, log):
        self.runner = GraphRunner(specs, out=log)
        self.client: EpisodeClient | None = None
        self.tmp: Path | None = None

    def __enter__(self) -> _Session:
        import tempfile

        self.tmp = Path(tempfile.mkdtemp(prefix="kiwi-demo-params-"))
        try:
            self.runner.start(self.tmp)
            self.client = EpisodeClient()
            names = {fully_qualified_name(s).lstrip("/") for s in self.runner.specs}
            services = (
                ["sim/reset", "recorder/start"]
                + (["expert/reset"] if "expert" in names else [])
                + (["policy/start"] if "policy" in names else [])
            )
            self.client.wait_ready(services)
            self.check()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def check(self) -> None:
        """A node that died stops the demo with its last words."""
        for r in self.runner.running:
            if r.proc.poll() is not None:
                tail = "\n    ".join(r.tail)
                raise DemoError(
                    f"node {r.spec.name} exited ({r.proc.returncode}); its last output:\n    {tail}"
                )

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        self.runner.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)


def config_from_args(args) -> DemoConfig:
    base = QUICK if args.quick else DemoConfig()
    overrides = {
        f.name: getattr(args, f.name) for f in fields(DemoConfig) if getattr(args, f.name, None) is not None
    }
    return replace(base, **overrides)


def run_demo(args, argv: list[str]) -> int:
    import sys

    from kiwi_policy.train import TrainError
    from kiwi_recorder.convert import ConvertError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # ours say the same, once
    config = config_from_args(args)
    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    demo = Demo(args.out, config, argv)
    try:
        report = demo.run()
    except KeyboardInterrupt:
        print(
            f"\nkiwi demo: interrupted; finished episodes, datasets and models are kept in {args.out}. "
            f"Run the same command again to continue.",
            file=sys.stderr,
        )
        return 130
    except (DemoError, EpisodeError, ConvertError, TrainError) as exc:
        print(f"kiwi demo: {exc}", file=sys.stderr)
        return 1
    print(f"report: {report}")
    return 0
