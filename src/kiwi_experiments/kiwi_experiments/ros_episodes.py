"""The episodes of `kiwi demo` through the ROS graphs: each batch starts the `record` (the expert
demonstrates) or `dagger` (the policy drives, the expert takes over under the gate) graph as
processes, runs its episodes through the services with the episode client, and the recorder's bags
become datasets through `kiwi convert`'s converter."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from kiwi_bringup.runner import GraphRunner, describe_exit, fully_qualified_name
from kiwi_common.graphs import build_graph

from .episodes import EpisodeClient, EpisodeError
from .evaluation import summarize
from .plan import IMAGE_SIZE, Batch, DemoConfig, DemoError, chunk_frames, demo_mapping

MAX_EARLY_POLICY_DEATHS = 3  # then the policy cannot run here; the run stops saying so


class RosEpisodes:
    def __init__(self, out: Path, config: DemoConfig, progress: bool = True):
        self.out, self.config, self.progress = out, config, progress

    def run(self, batch: Batch, keep: Callable[[dict], None]) -> None:
        """The batch in one graph session; a bag cut off mid-way by an interrupt is recorded again.
        A policy node that dies fails its episode (with the reason) and the batch goes on in a new
        session; any other node that dies stops the run."""
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
                **self._cameras(),
                "expert_seed": str(self.config.seed),
                "expert_side": self.config.detour,
            },
        )
        todo = list(batch.plans)
        log_path = self.out / "logs" / f"{batch.name}.log"
        early_deaths = 0  # the policy dying before an episode's first sample, in a row
        with open(log_path, "a") as log:
            while todo:  # a graph session; a new one after a policy node that died
                if early_deaths >= MAX_EARLY_POLICY_DEATHS:
                    raise DemoError(
                        f"the policy node died {early_deaths} times before an episode of {batch.name} "
                        f"began; its output: {log_path}"
                    )
                left = len(todo)
                with _Session(specs, log, f"{batch.name} (its output: {log_path})") as session:
                    died_early = self._run_in(session, todo, batch, keep)
                early_deaths = (0 if len(todo) < left else early_deaths) + died_early

    @staticmethod
    def _run_in(session: _Session, todo: list, batch: Batch, keep: Callable[[dict], None]) -> bool:
        """Run `todo`'s episodes in `session`, popping each one kept, until none is left or the
        policy node dies; True when it died before an episode began (that episode runs again)."""
        while todo and not session.lost_policy():
            try:
                result = session.client.run(todo[0], batch.timeout_s, batch.policy, session.died)
            except EpisodeError:
                if session.lost_policy():  # in a service call
                    session.client.discard()
                    return True
                raise
            if result.failure is not None and session.dead != "policy":
                session.check()  # the driver or another node: the run stops
            if result.failure is not None and not result.rollout.samples:
                return True  # nothing happened yet (its bag discarded)
            summary = {**summarize(result.rollout), "recorder": result.saved}
            if result.failure is not None:  # the policy's crash is the rollout's failure
                summary.update(success=False, time_to_success=None, failure=result.failure)
            keep(summary)
            todo.pop(0)
        return False

    def _cameras(self) -> dict[str, str]:
        """The sim's cameras: off for a state policy (rendering is most of the sim's cost), else
        rendered at the policy's image size."""
        if self.config.observation == "state":
            return {"cameras": "false"}
        return {"cameras": "true", "image_size": "x".join(map(str, IMAGE_SIZE))}

    def write_dataset(self, out: Path, demos: list[str], rollouts: list[str]) -> dict:
        """The bags of the `demos` batches whole and the correction segments of the `rollouts`
        batches' bags converted into a dataset at `out`."""
        from kiwi_recorder.convert import convert, find_bags

        demos = [bag for batch in demos for bag in find_bags(self.out / "bags" / batch)]
        bags = [bag for batch in rollouts for bag in find_bags(self.out / "bags" / batch)]
        summary = convert(
            demos,
            out,
            mapping=demo_mapping(self.config.observation),
            use_videos=False,
            corrections=bags,
            progress=self.progress,
            correction_weight=self.config.correction_weight,
            min_segment_frames=chunk_frames(self.config),
        )
        return {"demonstrations": len(demos), "rollouts": len(bags), **summary}


class _Session:
    """A graph's nodes as processes (their output to `log`) plus the episode client."""

    def __init__(self, specs, log, what: str):
        self.runner = GraphRunner(specs, out=log)
        self.what = what
        self.dead: str | None = None
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

    def died(self) -> str | None:
        """'node NAME killed by ...' for the first node of the graph that is no longer running (its
        name in `dead`)."""
        for r in self.runner.running:
            if r.proc.poll() is not None:
                self.dead = r.spec.name
                return f"node {r.spec.name} {describe_exit(r.proc.returncode)}"
        return None

    def check(self) -> None:
        """A node that died stops the demo, in one line naming it."""
        death = self.died()
        if death is not None:
            raise DemoError(f"{death} in {self.what}; run the same command again to continue")

    def lost_policy(self) -> bool:
        """True when the policy node died (the batch goes on in a new session); any other node
        that died raises DemoError."""
        if self.died() is not None and self.dead != "policy":
            self.check()
        return self.dead == "policy"

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close()
        self.runner.shutdown()
        shutil.rmtree(self.tmp, ignore_errors=True)
