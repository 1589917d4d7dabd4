"""Runs episodes in a running sim graph through its real services, and watches them.

An rclpy client in the calling process (not a node of the graph): per episode it sets the
driver's `seed` and `obstacle` parameters, calls /sim/reset and /expert/reset, starts the
recorder, starts the policy (if the graph has one), collects ground-truth samples until the cube
is held up (strict success) or the episode's sim time runs out, then stops the policy and saves the bag (as a
success or a failure). The same calls a person makes with `ros2 service call`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiwi_common.features import arm_positions, pose_of
from kiwi_common.stamps import stamp_seconds
from kiwi_common.task import sample_layout
from kiwi_description import constants as c
from kiwi_recorder.streams import NOT_YET_RECEIVED
from kiwi_teleop.gating import action_errors

from .evaluation import Rollout, Sample

PAIRING_S = 0.2  # wall seconds within which a policy and an expert command count as the same tick


class EpisodeError(RuntimeError):
    pass


@dataclass(frozen=True)
class EpisodePlan:
    seed: int
    obstacle: bool


@dataclass(frozen=True)
class EpisodeResult:
    rollout: Rollout
    started: str  # the recorder's word at /recorder/start (topics recorded, topics missing)
    saved: str  # ... and at save
    failure: str | None = None  # why the episode was cut short (`run`'s `failed`)


class EpisodeClient:
    def __init__(self, wall_timeout_s: float = 60.0):
        import rclpy
        from geometry_msgs.msg import PoseStamped, Twist
        from nav_msgs.msg import Odometry
        from rclpy.parameter_client import AsyncParameterClient
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool, String
        from std_srvs.srv import Trigger

        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("kiwi_demo", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.wall_timeout_s = wall_timeout_s
        self.trigger = Trigger
        self.clients = {}
        self.driver_params = AsyncParameterClient(self.node, "driver")
        self.rollout: Rollout | None = None
        self.cube_pose = None
        self.intervention = self.gate = self.contact = self.between_jaws = False
        self.latest: dict[str, tuple[float, object]] = {}  # topic -> (wall time, message)
        n = self.node
        n.create_subscription(Odometry, "sim/ground_truth/robot", self._on_robot, 50)
        n.create_subscription(
            PoseStamped, "sim/ground_truth/cube", lambda m: setattr(self, "cube_pose", m), 50
        )
        n.create_subscription(Bool, "intervention", lambda m: setattr(self, "intervention", m.data), 50)
        n.create_subscription(Bool, "expert/gate", lambda m: setattr(self, "gate", m.data), 50)
        n.create_subscription(String, "expert/takeover_reason", self._on_takeover, 50)
        n.create_subscription(
            Bool, "sim/ground_truth/obstacle_contact", lambda m: setattr(self, "contact", m.data), 50
        )
        n.create_subscription(
            Bool, "sim/ground_truth/cube_between_jaws", lambda m: setattr(self, "between_jaws", m.data), 50
        )
        for topic, kind in (
            ("policy/arm/command", JointState),
            ("policy/cmd_vel", Twist),
            ("teleop/arm/command", JointState),
            ("teleop/cmd_vel", Twist),
        ):
            n.create_subscription(kind, topic, lambda m, t=topic: self._on_command(t, m), 50)

    # --- plumbing --------------------------------------------------------------------------------

    def spin_until(self, condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not condition():
            self.executor.spin_once(timeout_sec=0.02)
        return bool(condition())

    def _client(self, service: str):
        if service not in self.clients:
            self.clients[service] = self.node.create_client(self.trigger, service)
        return self.clients[service]

    def call(self, service: str, timeout: float = 30.0) -> str:
        client = self._client(service)
        if not client.wait_for_service(timeout_sec=timeout):
            raise EpisodeError(f"{service} is not available")
        future = client.call_async(self.trigger.Request())
        if not self.spin_until(future.done, timeout):
            raise EpisodeError(f"{service} did not answer within {timeout:g} s")
        result = future.result()
        if not result.success:
            raise EpisodeError(f"{service} failed: {result.message}")
        return result.message

    def wait_ready(self, services: list[str], timeout: float = 120.0) -> None:
        """Wait for the graph: its services and the sim's ground truth."""
        deadline = time.monotonic() + timeout
        for service in services:
            if not self._client(service).wait_for_service(timeout_sec=max(0.1, deadline - time.monotonic())):
                raise EpisodeError(
                    f"the graph did not come up: {service} is not available after {timeout:g} s"
                )
        if not self.spin_until(lambda: self.cube_pose is not None, max(0.1, deadline - time.monotonic())):
            raise EpisodeError("the sim publishes no ground truth on /sim/ground_truth/cube")
        if not self.driver_params.wait_for_services(timeout_sec=max(0.1, deadline - time.monotonic())):
            raise EpisodeError("the driver's parameter services are not available")

    def set_layout(self, plan: EpisodePlan) -> None:
        from rclpy.parameter import Parameter

        future = self.driver_params.set_parameters(
            [Parameter("seed", value=plan.seed), Parameter("obstacle", value=plan.obstacle)]
        )
        if not self.spin_until(future.done, 10.0):
            raise EpisodeError("the driver did not take the layout parameters")

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    # --- samples ---------------------------------------------------------------------------------

    def _on_robot(self, msg) -> None:
        if self.rollout is None or self.cube_pose is None:
            return
        (x, y, _), yaw = pose_of(msg)
        (_, _, cube_z), _ = pose_of(self.cube_pose)
        self.rollout.samples.append(
            Sample(
                stamp_seconds(msg.header.stamp),
                x,
                y,
                yaw,
                cube_z,
                self.intervention,
                self.gate,
                self.contact,
                self.between_jaws,
            )
        )

    def _on_takeover(self, msg) -> None:
        if self.rollout is not None:
            self.rollout.takeover_reasons.append(msg.data)

    def _on_command(self, topic: str, msg) -> None:
        now = time.monotonic()
        self.latest[topic] = (now, msg)
        if self.rollout is None or topic != "teleop/cmd_vel" or self.intervention:
            return  # one error per expert tick, and only while the policy drives
        pairs = [self.latest.get(t) for t in ("policy/arm/command", "policy/cmd_vel", "teleop/arm/command")]
        if any(p is None or now - p[0] > PAIRING_S for p in pairs):
            return
        policy_arm, policy_twist, expert_arm = (p[1] for p in pairs)
        policy_arm, expert_arm = (arm_positions(m.name, m.position) for m in (policy_arm, expert_arm))
        if policy_arm is None or expert_arm is None:
            return
        base, arm = action_errors(
            _twist(policy_twist),
            [policy_arm[j] for j in c.ARM_JOINTS],
            _twist(msg),
            [expert_arm[j] for j in c.ARM_JOINTS],
        )
        self.rollout.base_errors.append(base)
        self.rollout.arm_errors.append(arm)

    # --- one episode -----------------------------------------------------------------------------

    def run(
        self,
        plan: EpisodePlan,
        timeout_s: float,
        policy: bool,
        failed: Callable[[], str | None] = lambda: None,
    ) -> EpisodeResult:
        """Reset to the plan's layout, record an episode until strict success or `timeout_s` of
        sim time, return what happened and what the recorder said. When `failed()` gives a reason
        (a node of the graph died) the episode ends there, saved as a failure with that reason."""
        layout = sample_layout(plan.seed, plan.obstacle)
        if policy:
            self.call("policy/stop")
        self.set_layout(plan)
        self.call("sim/reset")
        self.call("expert/reset")
        # Ground truth already on the wire may predate the reset: wait for the new layout.
        if not self.spin_until(lambda: self._shows(layout.cube_xy), 10.0):
            raise EpisodeError(f"the sim did not show the layout of seed {plan.seed} after /sim/reset")
        self.rollout = Rollout(plan.seed, layout.obstacle_xy)
        self.intervention = self.gate = self.contact = self.between_jaws = False
        started = self._start_recording()
        if policy:
            self.call("policy/start")
        rollout = self.rollout
        deadline = time.monotonic() + self.wall_timeout_s + timeout_s
        failure = None

        def over() -> bool:
            nonlocal failure
            failure = failed()
            return failure is not None or rollout.succeeded() or rollout.elapsed() >= timeout_s

        done = self.spin_until(over, deadline - time.monotonic())
        self.rollout = None
        if failure is not None and not rollout.samples:  # nothing to keep: the episode runs again
            self.discard()
            return EpisodeResult(rollout, started, "discarded", failure)
        if failure is not None:
            return EpisodeResult(rollout, started, self._save_failure(failure), failure)
        if policy:
            self.call("policy/stop")
        if not done:
            self.call("recorder/discard")
            raise EpisodeError(
                f"seed {plan.seed}: the sim stopped advancing ({rollout.elapsed():.1f} s of sim time "
                f"in {self.wall_timeout_s + timeout_s:.0f} s)"
            )
        saved = self.call("recorder/save" if rollout.succeeded() else "recorder/save_failure")
        return EpisodeResult(rollout, started, saved)

    def discard(self) -> None:
        """Throw the episode being recorded away, if one is (a graph going down: best effort)."""
        try:
            self.call("recorder/discard", timeout=5.0)
        except EpisodeError:
            pass

    def _save_failure(self, reason: str) -> str:
        """The recorder's word on saving a cut-short episode as a failure ('' if it cannot)."""
        try:
            return self.call("recorder/save_failure", timeout=5.0)
        except EpisodeError as exc:
            return f"not saved ({exc}) after: {reason}"

    def _start_recording(self, patience_s: float = 6.0) -> str:
        """/recorder/start, discarded and asked again while a stream it just subscribed to has not
        arrived (a graph coming up), so the episode begins with every stream."""
        deadline = time.monotonic() + patience_s
        while True:
            started = self.call("recorder/start")
            if NOT_YET_RECEIVED not in started or time.monotonic() > deadline:
                return started
            self.call("recorder/discard")
            self.spin_until(lambda: False, 0.25)

    def _shows(self, cube_xy) -> bool:
        if self.cube_pose is None:
            return False
        (x, y, _), _ = pose_of(self.cube_pose)
        return math.hypot(x - cube_xy[0], y - cube_xy[1]) < 1e-3


def _twist(msg) -> tuple[float, float, float]:
    return msg.linear.x, msg.linear.y, msg.angular.z
