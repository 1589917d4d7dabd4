"""`kiwi demo`: the whole imitation-learning loop in the sim, hands-off, ending in a report.

1. The scripted expert records demonstrations through the `record` graph (the obstacle on every
   layout; one detour side, as a person teaching would, or drawn per episode).
2. They are converted (`--observation state`: joint states plus the cube and obstacle relative to
   the robot from the sim's ground truth; `images`: joint states and both cameras at 96x128;
   actions are the expert's commands) and the chunked policy (ACT, Diffusion or kiwi_mlp) is
   trained with `lerobot-train`: round 0.
3. HG-DAgger rounds: the latest policy drives rollouts with the expert taking over when the
   state heads for failure; only the take-over segments join the data, and the round's model
   continues training from the last one on everything so far (normalization kept from round 0).
   Two baselines follow the rounds' schedule from round 0: the control on the demonstrations
   alone, and the effort-matched BC arm on them plus extra expert demonstrations with as many
   frames as the corrections.
4. Every model is evaluated on the same held-out obstacle layouts in the gymnasium env (the same
   scene, task, driver limits and policy loader; deterministic and as fast as the policy runs),
   with strict success (the cube held between the jaws 5 cm up for 1 s); round 0 is trained
   once more with another seed (the noise floor). Round 0, the last round and the baselines
   also run on the run's development layouts, for diagnosis (paths, videos).
5. The report: tables with intervals and paired tests, plots, a top-down video of each model's
   first development layouts, the commands and seeds.

Every stage leaves its result in the output folder and is skipped when it is already there, so an
interrupted run continues where it stopped when started again with the same options: finished
episodes are kept (an episode cut off mid-way is recorded again), a dataset or model that was not
finished is rebuilt.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path

from kiwi_common.features import MAPPING_FILE
from kiwi_description.constants import CONTROL_RATE_HZ
from kiwi_policy.train import TRAINING_STEPS

from .episodes import EpisodeError, EpisodePlan
from .evaluation import aggregate
from .plan import (
    EXPERT_TIMEOUT_S,
    PRETRAINED,
    QUICK,
    RUN_SEEDS,
    VIDEO_EPISODES,
    VIDEO_EVERY,
    Batch,
    DemoConfig,
    DemoError,
    EpisodeSource,
    code_version,
    compared_settings,
    demo_mapping,
    diagnoses,
    evaluations,
    read_summaries,
    recorded_settings,
    round_model,
    sampler_scale,
    train_options,
    trainings,
    wide_evaluations,
    write_atomically,
)


def episode_source(out: Path, config: DemoConfig, progress: bool = True) -> EpisodeSource:
    """The ROS graphs (`--backend ros`, the product) or the gymnasium env (`--backend env`)."""
    if config.backend == "env":
        from .env_episodes import EnvEpisodes

        return EnvEpisodes(out, config)
    from .ros_episodes import RosEpisodes

    return RosEpisodes(out, config, progress)


class Demo:
    def __init__(
        self,
        out: Path,
        config: DemoConfig,
        argv: list[str],
        progress: bool = True,
        source: EpisodeSource | None = None,
    ):
        self.out, self.config, self.argv, self.progress = Path(out), config, argv, progress
        self.source = source or episode_source(self.out, config, progress)
        self.trainings = {t.name: t for t in trainings(config)}
        self.timings: dict[str, float] = {}

    # --- folders and resume ----------------------------------------------------------------------

    def prepare(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DemoError(f"cannot use {self.out} as the run folder: {exc.strerror or exc}") from None
        saved = self.out / "config.json"
        if saved.exists():
            previous = self._run_record("config.json")
            ran = recorded_settings(previous)
            now = compared_settings(asdict(self.config))
            changed = ", ".join(f"{k} {ran[k]} -> {v}" for k, v in now.items() if ran[k] != v)
            if changed:
                raise DemoError(
                    f"{saved} holds a run with other settings ({changed}); "
                    f"give a new --out, or --fresh to start over"
                )
        write_atomically(saved, json.dumps(asdict(self.config), indent=2))
        self.code = code_version()
        code = self.out / "code.json"
        if code.exists():
            made_by = self._run_record("code.json", ("fingerprint", "commit"))
            if made_by["fingerprint"] != self.code["fingerprint"]:
                raise DemoError(
                    f"{code} says its stages were made by other code (commit {made_by['commit']}, sources "
                    f"{made_by['fingerprint']}; now {self.code['commit']}, {self.code['fingerprint']}): "
                    f"their results would mix; give a new --out, or --fresh to start over"
                )
        write_atomically(code, json.dumps(self.code, indent=2))
        write_atomically(self.out / "mapping.json", demo_mapping(self.config.observation).to_json())
        for sub in ("bags", "episodes", "datasets", "models", "logs", "report"):
            path = self.out / sub
            if path.exists() and not path.is_dir():
                raise DemoError(f"{path} is not a folder; give a new --out, or --fresh to start over")
            path.mkdir(exist_ok=True)
        self.timings = self._timings()

    def _run_record(self, name: str, keys: tuple[str, ...] = ()) -> dict:
        """The run's own record `name` (what the run is; a damaged one cannot be guessed)."""
        path = self.out / name
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or any(k not in record for k in keys):
                raise ValueError(f"not an object with {', '.join(keys) or 'settings'}")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DemoError(
                f"{path} is damaged ({exc}); give a new --out, or --fresh to start over"
            ) from None
        return record

    def _timings(self) -> dict[str, float]:
        """Seconds per stage so far (for the report); damaged, they start again from zero."""
        path = self.out / "timings.json"
        try:
            timings = json.loads(path.read_text()) if path.exists() else {}
            if not isinstance(timings, dict) or not all(
                isinstance(v, (int, float)) for v in timings.values()
            ):
                raise ValueError("not seconds per stage")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            print(f"warning: {path} is damaged ({exc}); the report's timings start again", file=sys.stderr)
            return {}
        return timings

    def _stage(self, name: str) -> float:
        """Say in `status.json` which stage the run is in (for whoever watches a long run); its start."""
        write_atomically(self.out / "status.json", json.dumps({"stage": name, "pid": os.getpid()}))
        return time.monotonic()

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - started, 1)
        write_atomically(self.out / "timings.json", json.dumps(self.timings, indent=2))

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
        """Run (or finish) a batch of episodes from the run's episode source; their summaries."""
        summaries_path = self.out / "episodes" / f"{name}.jsonl"
        done = read_summaries(summaries_path)
        todo = plans[len(done) :]
        if not todo:
            return done
        started = self._stage(name)
        batch = Batch(name, graph, args, todo, len(done), policy, timeout_s or self.config.timeout_s)
        with self._collecting(name, summaries_path, len(plans), done) as keep:
            self.source.run(batch, keep)
        self._timed(name, started)
        return done

    # --- data and training -----------------------------------------------------------------------

    def total_steps(self, name: str) -> int:
        """A model's training steps counting those of the models it continues."""
        training = self.trainings[name]
        return training.steps + (0 if training.start is None else self.total_steps(training.start))

    def dataset(self, name: str) -> Path:
        """`r0`: the demonstrations; `hg_rN`: they and the corrections of rounds 0..N-1; `bc`: the
        demonstrations and the effort-matched extra ones. All but round 0's with round 0's
        normalization statistics (a continued model keeps the scale it learnt)."""
        out = self.out / "datasets" / name
        sources = out / "meta" / "kiwi_demo_sources.json"  # written last
        if self.sources(name) is not None:
            return out
        demos, rollouts = ["demos"], []
        if name == "bc" and self.extra_demos():  # none when there were no corrections
            demos.append("extra_demos")
        elif name != "r0":
            rollouts = [f"rollouts_r{r}" for r in range(int(name.removeprefix("hg_r")))]
        shutil.rmtree(out, ignore_errors=True)
        started = self._stage(f"convert {name}")
        summary = self.source.write_dataset(out, demos, rollouts)
        if name != "r0":
            shutil.copyfile(self.dataset("r0") / "meta" / "stats.json", out / "meta" / "stats.json")
        sources.write_text(json.dumps(summary, indent=2))
        self._timed(f"convert {name}", started)
        return out

    def extra_demos(self) -> list[dict]:
        """The effort-matched BC arm's data: expert demonstrations on layouts of their own until
        their frames reach the corrections' in the last round's dataset (each counted once)."""
        c = self.config
        last = round_model(c.rounds)
        self.dataset(last)
        needed = self.sources(last)["correction_frames"]
        per_episode = [round(s["duration"] * CONTROL_RATE_HZ) for s in self.episodes_of("demos")]
        typical = max(1, sum(per_episode) // max(1, len(per_episode)))
        count = 0
        while True:
            done = self.episodes(
                "extra_demos",
                "record",
                {"teleop": "expert"},
                c.plans("extra_demos", count),
                policy=False,
                timeout_s=max(c.timeout_s, EXPERT_TIMEOUT_S),
            )
            frames = sum(round(s["duration"] * CONTROL_RATE_HZ) for s in done)
            if frames >= needed or len(done) == RUN_SEEDS["extra_demos"][1]:  # the report counts both
                return done
            count = min(len(done) + -(-(needed - frames) // typical), RUN_SEEDS["extra_demos"][1])

    def episodes_of(self, name: str) -> list[dict]:
        return read_summaries(self.out / "episodes" / f"{name}.jsonl")

    def sources(self, name: str) -> dict | None:
        """What the dataset `name` was made of; None while it is unfinished (the record is written
        last) or when the record is damaged (the dataset is then made again)."""
        path = self.out / "datasets" / name / "meta" / "kiwi_demo_sources.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def model(self, name: str) -> Path:
        from tqdm import tqdm

        from kiwi_policy.train import train

        training = self.trainings[name]
        dataset = self.dataset(training.dataset)
        start = None if training.start is None else self.model(training.start)
        out = self.out / "models" / name
        pretrained = out / PRETRAINED
        if (pretrained / MAPPING_FILE).exists():
            return pretrained
        shutil.rmtree(out, ignore_errors=True)  # an unfinished run: LeRobot will not continue it
        started = self._stage(f"train {name}")
        bar = tqdm(total=training.steps, desc=f"train {name}", unit="step", disable=not self.progress)
        with bar:
            result = train(
                dataset,
                self.config.policy,
                out,
                steps=training.steps,
                batch_size=self.config.batch_size,
                seed=self.config.seed + training.seed,
                extra=train_options(self.config),
                log=self.out / "logs" / f"train_{name}.log",
                on_step=lambda step: bar.update(max(0, step - bar.n)),
                start=start,
            )
            bar.update(training.steps - bar.n)
        self._timed(f"train {name}", started)
        return result

    # --- the loop --------------------------------------------------------------------------------

    def evaluate(self, name: str, model: str, layouts: str = "heldout") -> list[dict]:
        """The model alone on the held-out (or `dev`: development, `wide`: the wider task's)
        layouts, in the gymnasium env
        (lerobot_env_kiwi: the same MuJoCo scene, task, driver limits and policy loader as the
        graph, one tick per step, as fast as the policy computes): deterministic, where the
        graph's process timing is not. The episodes run in parallel on the machine's cores."""
        from .env_runs import evaluation_summaries, usable_cores

        c = self.config
        count = {"heldout": c.eval_episodes, "dev": c.dev_episodes, "wide": c.wide_episodes}[layouts]
        seeds = [plan.seed for plan in c.plans(layouts, count)]
        path = self.out / "episodes" / f"{name}.jsonl"
        done = read_summaries(path)
        if len(done) == len(seeds):
            return done
        weights = self.model(model)
        started = self._stage(name)
        ticks = int(c.timeout_s * CONTROL_RATE_HZ)
        with self._collecting(name, path, len(seeds), done) as keep:
            kind = "wide" if layouts == "wide" else "default"
            for summary in evaluation_summaries(
                weights, seeds[len(done) :], ticks, kind, usable_cores(), diffusion_noise=c.diffusion_noise
            ):
                keep(summary)
        self._timed(name, started)
        return done

    def video(self, name: str, model: str) -> Path:
        """`model` on the first VIDEO_EPISODES development layouts, seen from above (an image
        policy's cameras beside the view), as the report's `videos/<name>.mp4`, each episode
        labelled with its own outcome. The env is deterministic and a sampling policy draws from
        the layout's seed, so these are the episodes the evaluation scored."""
        from .env_runs import policy_videos
        from .videos import episode_label, labelled, write_video

        c = self.config
        path = self.out / "report" / "videos" / f"{name}.mp4"
        if path.exists():
            return path
        started = self._stage(f"video {name}")
        seeds = [plan.seed for plan in c.plans("dev", min(VIDEO_EPISODES, c.dev_episodes))]
        ticks = int(c.timeout_s * CONTROL_RATE_HZ)
        episodes = policy_videos(self.model(model), seeds, ticks, VIDEO_EVERY, c.diffusion_noise)
        frames = (labelled(shot, episode_label(episode)) for episode, shots in episodes for shot in shots)
        write_video(path, frames, CONTROL_RATE_HZ / VIDEO_EVERY)
        self._timed(f"video {name}", started)
        return path

    @contextmanager
    def _collecting(self, name: str, path: Path, total: int, done: list[dict]):
        """A progress bar and the summaries file; `keep(summary)` records one more episode."""
        from tqdm import tqdm

        bar = tqdm(total=total, initial=len(done), desc=name, unit="episode", disable=not self.progress)
        with bar, path.open("a") as sink:

            def keep(summary: dict) -> None:
                sink.write(json.dumps(summary) + "\n")
                sink.flush()
                done.append(summary)
                bar.set_postfix(success=f"{sum(s['success'] for s in done)}/{len(done)}")
                bar.update()

            yield keep

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
            model = round_model(round_)
            results[f"eval_{model}"] = self.evaluate(f"eval_{model}", model)
            if c.rounds:  # the last round's rollouts only measure its take-overs (no data)
                results[f"rollouts_r{round_}"] = self.episodes(
                    f"rollouts_r{round_}",
                    "dagger",
                    {
                        "model": str(self.model(model)),
                        "takeover": "gate",
                        "gate_lift_stall_s": str(c.gate_lift_stall_s),
                        "gate_patience_s": str(c.gate_patience_s),
                        "diffusion_noise": str(sampler_scale(c)),
                    },
                    c.plans("rollouts", c.dagger_episodes, round_),
                    policy=True,
                )
        for name, model in evaluations(c)[c.rounds + 1 :]:  # the baselines, the noise floor
            results[name] = self.evaluate(name, model)
        if c.rounds:
            results["extra_demos"] = self.extra_demos()
        for name, model in diagnoses(c):
            results[name] = self.evaluate(name, model, "dev")
            self.video(name, model)
        for name, model in wide_evaluations(c):
            results[name] = self.evaluate(name, model, "wide")
        rows = {name: aggregate(summaries) for name, summaries in results.items()}
        return write_report(self, results, rows)


def config_from_args(args) -> DemoConfig:
    base = QUICK if args.quick else DemoConfig()
    overrides = {
        f.name: getattr(args, f.name) for f in fields(DemoConfig) if getattr(args, f.name, None) is not None
    }
    if getattr(args, "passthrough", None):
        overrides["train_args"] = shlex.join(args.passthrough)
    policy = overrides.get("policy", base.policy)
    if not args.quick and "steps" not in overrides:
        overrides["steps"] = TRAINING_STEPS[policy]
    config = replace(base, **overrides)
    train_options(config)  # refused before anything runs
    sampler_scale(config)
    return config


def _interrupt_in(exc: BaseException | None) -> bool:
    """Whether `exc` is, or was raised by, a Ctrl-C. One that lands while a C extension (MuJoCo,
    torch) initialises on a stage's first import reaches us as an ImportError raised from it."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def run_demo(args, argv: list[str], run=None) -> int:
    """`kiwi demo`: one run in `args.out`; or `run(config)` in its place (`kiwi study`'s
    repetitions), with the same settings, interrupt and errors. Exit status as the command's."""
    import sys

    from kiwi_bringup.runner import RunnerError
    from kiwi_policy.train import TrainError
    from kiwi_recorder.convert import ConvertError

    from .env_runs import EnvRunError

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # ours say the same, once
    try:
        config = config_from_args(args)
        if args.fresh and args.out.exists():
            shutil.rmtree(args.out)
        report = Demo(args.out, config, argv).run() if run is None else run(config)
    except (KeyboardInterrupt, ImportError) as exc:
        if not _interrupt_in(exc):
            raise
        print(
            f"\nkiwi {argv[0]}: interrupted; finished episodes, datasets and models are kept in {args.out}. "
            f"Run the same command again to continue.",
            file=sys.stderr,
        )
        return 130
    except (DemoError, EpisodeError, ConvertError, TrainError, EnvRunError, RunnerError) as exc:
        print(f"kiwi {argv[0]}: {exc}", file=sys.stderr)
        return 1
    print(f"report: {report}")
    return 0
