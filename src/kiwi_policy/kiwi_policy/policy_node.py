"""`policy`: a LeRobot policy drives LeKiwi through ROS, with inference off the control path.

- Loading (`checkpoint.py`): `model` is a policy type (default location) or a path; the
  checkpoint's features are checked against the mapping it was trained with before any weight
  is loaded; a mismatch stops the node with every difference named.
- Per control tick the node snapshots its newest inputs: /joint_states, camera images, and for a
  policy trained on `observation.environment_state` the sim's ground truth (cube and obstacle
  relative to the robot, topics from the mapping; sim only). The ROS-free core (`runtime.py`)
  infers on a worker thread from those snapshots (refusing ones older than `max_obs_age`), runs
  the chunk scheduler (`scheduler.py`) and holds when dry; the node publishes its commands on
  /policy/arm/command and /policy/cmd_vel (the mux forwards them), each chunk whole on
  /policy/chunk and its base path as nav_msgs/Path on /policy/planned_path (for rviz).
  Services /policy/start, /policy/stop, /policy/reset. While a human intervenes (/intervention)
  the policy keeps planning, so it takes over again from a fresh chunk. Diagnostics at 1 Hz.
"""

from __future__ import annotations

import math
import sys

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry, Path
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Bool
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from kiwi_common.diagnostics import Diagnostic, diagnostic_array
from kiwi_common.features import (
    ENVIRONMENT_STATE,
    GROUND_TRUTH_TOPICS,
    GROUND_TRUTH_TYPES,
    Mapping,
    arm_positions,
    ground_truth_observation,
    image_feature,
    joint_state_observation,
    node_topic,
)
from kiwi_common.images import decode_image
from kiwi_common.node_interface import NodeInterface, Param, Topic, declare_params, run_node
from kiwi_common.stamps import duration_msg, stale_inputs, stamp_seconds
from kiwi_common.timing import TickTimer

from .checkpoint import load_policy
from .inference import ChunkPredictor
from .runtime import PolicyRuntime, Snapshot
from .scheduler import MAX_OBS_AGE_S, MODES, Chunk, ChunkScheduler, default_late_hold
from .trajectory import BASE_AXES, CHUNK_JOINTS, chunk_trajectory

_DEFAULT_MAPPING = Mapping()
BASE_COLUMNS = [CHUNK_JOINTS.index(axis) for axis in BASE_AXES]  # the base path in a chunk's trajectory
INTERFACE = NodeInterface(
    params=(
        Param(
            "model",
            "act",
            "A checkpoint path, or a name looked up in $KIWI_MODELS, then the workspace's data/models.",
        ),
        Param("mapping", "", "Mapping JSON; empty: the one stored with the checkpoint or its dataset."),
        Param("device", "cpu", "Torch device."),
        Param("torch_threads", 1, "Torch threads for inference (1 on small machines: more stalls OpenMP)."),
        Param("control_hz", 0.0, "Command rate (Hz); 0: the mapping's fps."),
        Param("scheduler", "latest", f"How overlapping chunks combine: {', '.join(MODES)}."),
        Param("ensemble_coeff", 0.01, "Temporal ensembling m in exp(-m * k), k = 0 for the oldest chunk."),
        Param(
            "refill_threshold",
            -1.0,
            "Ask for the next chunk when at most this fraction of the newest is left; -1: with the latest "
            "scheduler execute each chunk whole (asking when the actions left just cover the time a chunk "
            "takes to arrive), with ensemble or average a chunk every tick (1.0).",
        ),
        Param(
            "late_hold_s",
            -1.0,
            "Seconds the newest chunk's last action stays in force past its time; -1: "
            "max_obs_age for single-step policies (their one action is already old when it arrives), else 0.",
        ),
        Param("max_obs_age", MAX_OBS_AGE_S, "Refuse observations older than this (s)."),
        Param("task", "pick up the cube", "Task string given to the policy."),
        Param(
            "act_latent",
            "zero",
            "ACT only: zero (LeRobot's inference, the prior's mean) or episode (a latent drawn from the "
            "prior at every episode start: the same observation may lead to another plan next episode).",
        ),
        Param(
            "diffusion_noise",
            -1.0,
            "Diffusion (DDIM, Kiwi's preset) only: the scale of the noise its sampler starts from at every "
            "chunk; 1: LeRobot's draw, 0: zeros (the chunk is then a function of the observations); "
            "-1: 0.5 for a DDIM Diffusion, 1 for any other policy.",
        ),
        Param("autostart", True, "Start driving as soon as the policy is loaded and observations arrive."),
    ),
    publishes=(
        Topic("policy/arm/command", "sensor_msgs/msg/JointState"),
        Topic("policy/cmd_vel", "geometry_msgs/msg/Twist"),
        Topic("policy/chunk", "trajectory_msgs/msg/JointTrajectory"),
        Topic("policy/planned_path", "nav_msgs/msg/Path"),
        Topic("diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),
    ),
    subscribes=(
        Topic(node_topic(_DEFAULT_MAPPING.state_topic), "sensor_msgs/msg/JointState"),
        *(Topic(node_topic(t), "sensor_msgs/msg/CompressedImage") for t in _DEFAULT_MAPPING.cameras.values()),
        Topic(node_topic(_DEFAULT_MAPPING.intervention_topic), "std_msgs/msg/Bool"),
        # A state-only policy's observation.environment_state (the sim's ground truth).
        *(
            Topic(node_topic(t), GROUND_TRUTH_TYPES[role], optional=True)
            for role, t in GROUND_TRUTH_TOPICS.items()
        ),
    ),
    services=("policy/start", "policy/stop", "policy/reset"),
)


class PolicyNode(Node):
    def __init__(self) -> None:
        super().__init__("policy")
        p = declare_params(self, INTERFACE)
        self.loaded = load_policy(p.model, Mapping.load(p.mapping) if p.mapping else None, p.device)
        self.mapping = self.loaded.mapping
        noise = None if p.diffusion_noise == -1 else p.diffusion_noise  # -1: the checkpoint's default
        self.predictor = ChunkPredictor(
            self.loaded, p.task, p.torch_threads, p.act_latent, diffusion_noise=noise
        )
        self.dt = 1.0 / self.mapping.fps  # the spacing of the policy's actions: the dataset's rate
        self.period = 1.0 / (p.control_hz or self.mapping.fps)
        self.max_obs_age = p.max_obs_age
        single_step = self.loaded.n_action_steps == 1
        late_hold = p.late_hold_s if p.late_hold_s >= 0 else default_late_hold(single_step, p.max_obs_age)
        refill = p.refill_threshold if p.refill_threshold >= 0 else None if p.scheduler == "latest" else 1.0
        scheduler = ChunkScheduler(p.scheduler, p.ensemble_coeff, refill, late_hold)
        # load_policy refused a checkpoint taking the environment state unless the mapping has its topics.
        read = self.loaded.read_mapping
        self.cameras, self.ground_truth = read.cameras, read.ground_truth

        self.latest_state: JointState | None = None
        self.latest_inputs: dict[str, object] = {}  # topic -> newest message (cameras, ground truth)
        self.required_inputs = {*self.cameras.values(), *self.ground_truth.values()}
        self.was_intervention = False
        self.tick_timer = TickTimer(self.period)

        self.arm_pub = self.create_publisher(JointState, "policy/arm/command", 10)
        self.twist_pub = self.create_publisher(Twist, "policy/cmd_vel", 10)
        self.chunk_pub = self.create_publisher(JointTrajectory, "policy/chunk", 10)
        self.path_pub = self.create_publisher(Path, "policy/planned_path", 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        self.create_subscription(JointState, node_topic(self.mapping.state_topic), self._on_state, 10)
        for topic in self.cameras.values():
            kind = CompressedImage if topic.endswith("/compressed") else Image
            self.create_subscription(
                kind, node_topic(topic), lambda msg, t=topic: self._on_input(t, msg), qos_profile_sensor_data
            )
        for role, topic in self.ground_truth.items():
            kind = Odometry if role == "robot" else PoseStamped
            self.create_subscription(kind, node_topic(topic), lambda msg, t=topic: self._on_input(t, msg), 10)
        self.create_subscription(Bool, node_topic(self.mapping.intervention_topic), self._on_intervention, 10)
        self.create_service(Trigger, "policy/start", self._srv_start)
        self.create_service(Trigger, "policy/stop", self._srv_stop)
        self.create_service(Trigger, "policy/reset", self._srv_reset)
        self.runtime = PolicyRuntime(
            self.predictor,
            self._observation,
            self._stale,
            scheduler,
            self.loaded.n_obs_steps,
            self.dt,
            self._now,
            on_chunk=self._publish_chunk,
        )
        self.create_timer(self.period, self._tick)
        self.create_timer(1.0, self._publish_diagnostics)

        if p.autostart:
            self.runtime.start()
        self.get_logger().info(
            f"{self.loaded.config.type} from {self.loaded.path}: inputs {sorted(self.loaded.config.input_features)}, "
            f"{self.loaded.n_action_steps} actions per chunk at {self.mapping.fps:g} Hz, scheduler {p.scheduler}, "
            f"control {1 / self.period:g} Hz"
            + (
                f", sampler noise {self.predictor.diffusion_noise:g}"
                if self.loaded.config.type == "diffusion"
                else ""
            )
        )

    # --- inputs ----------------------------------------------------------------------------------

    # Callbacks and the timer share the executor's thread; the worker sees only snapshots.
    def _on_state(self, msg: JointState) -> None:
        self.latest_state = msg

    def _on_input(self, topic: str, msg) -> None:
        self.latest_inputs[topic] = msg

    def _on_intervention(self, msg: Bool) -> None:
        if self.was_intervention and not msg.data:
            self.get_logger().info("hand-back after a human intervention: the policy drives on")
        self.runtime.set_intervention(msg.data)
        self.was_intervention = msg.data

    # --- control ---------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _tick(self) -> None:
        self.tick_timer.tick()
        state = self.latest_state
        # Only whole snapshots: an older one taken before the first image would fail inference.
        whole = state is not None and self.required_inputs <= self.latest_inputs.keys()
        snapshot = (
            Snapshot(stamp_seconds(state.header.stamp), (state, dict(self.latest_inputs))) if whole else None
        )
        present = None if state is None else arm_positions(state.name, state.position)
        command = self.runtime.tick(snapshot, present)
        if command is not None:
            self._publish(command.arm, command.twist)

    def _publish(self, arm: dict[str, float], twist) -> None:
        msg = JointState(name=list(arm), position=[float(v) for v in arm.values()])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.arm_pub.publish(msg)
        cmd = Twist()
        cmd.linear.x, cmd.linear.y, cmd.angular.z = (float(v) for v in twist)
        self.twist_pub.publish(cmd)

    # --- inference -------------------------------------------------------------------------------

    def _observation(self, data) -> dict:
        state, inputs = data
        vector, _ = joint_state_observation(state.name, state.position, state.velocity)
        obs = {"observation.state": vector}
        for cam, topic in self.cameras.items():
            obs[image_feature(cam)] = decode_image(inputs[topic], self.mapping.image_shapes[cam])
        if self.ground_truth:
            obs[ENVIRONMENT_STATE] = ground_truth_observation(
                *(inputs[self.ground_truth[role]] for role in ("robot", "cube", "obstacle"))
            )
        return obs

    def _stale(self, data, now: float) -> str:
        """Why the newest observation cannot be used ('' if it can)."""
        state, inputs = data
        ages = {self.mapping.state_topic: now - stamp_seconds(state.header.stamp)}
        for topic in (*self.cameras.values(), *self.ground_truth.values()):
            if topic not in inputs:
                return f"nothing yet on {topic}"
            ages[topic] = now - stamp_seconds(inputs[topic].header.stamp)
        return stale_inputs(ages, self.max_obs_age)

    def _publish_chunk(self, chunk: Chunk, snapshot: Snapshot) -> None:
        try:
            self._publish_plan(chunk, snapshot)
        except rclpy_implementation.RCLError:
            # Ctrl-C invalidates the context from the signal handler, on the main thread, at any
            # moment of this worker's publishing: a stop, not a fault.
            if self.context.ok():
                raise

    def _publish_plan(self, chunk: Chunk, snapshot: Snapshot) -> None:
        positions, velocities = chunk_trajectory(chunk.actions, chunk.dt)
        msg = JointTrajectory(joint_names=list(CHUNK_JOINTS))
        msg.header.stamp = snapshot.data[0].header.stamp
        msg.header.frame_id = "base_link"
        for i, (pos, vel) in enumerate(zip(positions, velocities)):
            msg.points.append(
                JointTrajectoryPoint(
                    positions=pos.tolist(),
                    velocities=vel.tolist(),
                    time_from_start=duration_msg(i * chunk.dt),
                )
            )
        self.chunk_pub.publish(msg)
        path = Path()
        path.header = msg.header  # base_link where the chunk starts: rviz draws it ahead of the robot
        for x, y, yaw in positions[:, BASE_COLUMNS]:
            pose = PoseStamped(header=msg.header)
            pose.pose.position.x, pose.pose.position.y = float(x), float(y)
            pose.pose.orientation.z, pose.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
            path.poses.append(pose)
        self.path_pub.publish(path)

    # --- services and diagnostics ----------------------------------------------------------------

    def _srv_start(self, _request, response):
        self.runtime.start()
        response.success, response.message = True, "policy driving"
        return response

    def _srv_stop(self, _request, response):
        self.runtime.stop()
        response.success, response.message = (
            True,
            "policy stopped (no commands; the driver's watchdog stops the base)",
        )
        return response

    def _srv_reset(self, _request, response):
        self.runtime.reset()
        response.success, response.message = True, "policy reset"
        return response

    def _publish_diagnostics(self) -> None:
        level, message, values = self.runtime.health()
        values |= {
            "tick_ms_p50": f"{self.tick_timer.percentile_ms(50):.2f}",
            "tick_ms_p99": f"{self.tick_timer.percentile_ms(99):.2f}",
            "missed_ticks": str(self.tick_timer.late_total),
            "diffusion_noise": f"{self.predictor.diffusion_noise:g}",  # resolved: the default is per policy
        }
        if level == 2:
            self.get_logger().error(message, throttle_duration_sec=5.0)
        diag = Diagnostic(level, "policy", message, values, hardware_id=str(self.loaded.path))
        self.diag_pub.publish(diagnostic_array(self.get_name(), [diag], self.get_clock().now().to_msg()))

    def shutdown(self) -> None:
        self.runtime.close()


def main(args=None) -> int:
    return run_node(PolicyNode, "policy", args)


if __name__ == "__main__":
    sys.exit(main())
