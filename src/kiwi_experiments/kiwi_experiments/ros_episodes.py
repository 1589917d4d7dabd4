"""The episodes of `kiwi demo` through the ROS graphs: each batch starts the `record` (the expert
demonstrates) or `dagger` (the policy drives, the expert takes over under the gate) graph as
processes, runs its episodes through the services with the episode client, and the recorder's bags
become datasets through `kiwi convert`'s converter."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from kiwi_bringup.runner import GraphRunner, fully_qualified_name
from kiwi_common.graphs import build_graph

from .episodes import EpisodeClient, EpisodeError
from .evaluation import summarize
from .plan import Batch, DemoConfig, DemoError, chunk_frames, demo_mapping


class RosEpisodes:
    def __init__(self, out: Path, config: DemoConfig, progress: bool = True):
        self.out, self.config, self.progress = out, config, progress

    def run(self, batch: Batch, keep: Callable[[dict], None]) -> None:
        """The batch in one graph session; a bag cut off mid-way by an interrupt is recorded again."""
        bags = self.out / "bags" / batch.name
        bags.mkdir(parents=True, exist_ok=True)
        for stray in sorted(bags.glob("episode_*")):
            if int(stray.name.removeprefix("episode_")) >= batch.first:
                shutil.rmtree(stray)
        specs = build_graph(
            batch.graph,
            {
                **batch.args,
                "out_dir": str(bags),
                "mapping": str(self.out / "mapping.json"),
                "sim_speed": str(self.config.sim_speed),
                "cameras": "false",
                "expert_seed": str(self.config.seed),
                "expert_side": self.config.detour,
            },
        )
        with open(self.out / "logs" / f"{batch.name}.log", "a") as log, _Session(specs, log) as session:
            for plan in batch.plans:
                session.check()
                try:
                    result = session.client.run(plan, batch.timeout_s, batch.policy)
                except EpisodeError:
                    session.check()  # a node that died is the better explanation
                    raise
                keep({**summarize(result.rollout), "recorder": result.saved})

    def write_dataset(self, out: Path, rollouts: list[str]) -> dict:
        """The demonstrations' bags and the correction segments of the `rollouts` batches' bags
        converted into a dataset at `out`."""
        from kiwi_recorder.convert import convert, find_bags

        demos = find_bags(self.out / "bags" / "demos")
        bags = [bag for batch in rollouts for bag in find_bags(self.out / "bags" / batch)]
        summary = convert(
            demos,
            out,
            mapping=demo_mapping(),
            use_videos=False,
            corrections=bags,
            progress=self.progress,
            correction_weight=self.config.correction_weight,
            min_segment_frames=chunk_frames(self.config.policy),
        )
        return {"demonstrations": len(demos), "rollouts": len(bags), **summary}


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
