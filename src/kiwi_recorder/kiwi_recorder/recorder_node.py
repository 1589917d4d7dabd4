"""`recorder`: one rosbag2 MCAP per episode, started, saved and discarded by services.

Services (std_srvs/Trigger): `/recorder/start` (the task is the `task` parameter, read at start),
`/recorder/save` (outcome success), `/recorder/save_failure` (outcome failure), `/recorder/discard`.
Each episode is a bag folder `<out_dir>/episode_NNNN` with the mapping's topics plus `extra_topics`,
received serialized (no decode/encode on the way) and logged at receive time on the node's clock
(sim time in the sim), as `ros2 bag record` does, but never before the newest joint state
received: the sim's clock comes after a tick's state, and a command without a header that answers
that state (the expert's Twist) must not be filed a tick early. On a robot the clock is always
later than the state, so this changes nothing there. The bag's custom metadata holds task, outcome,
robot and the topic<->feature mapping. The bag is flushed every `flush_period` seconds, so a killed
recorder loses at most that much of the current episode (`kiwi convert` recovers the rest);
finished episodes are closed bags and are never touched again.

The recorder subscribes to each wanted topic as soon as it is published and keeps the subscription
(messages between episodes are dropped), so an episode begins with its streams already flowing: a
new subscription takes a discovery round, and a sim camera renders only for a reader. Of the
streams every frame needs (joint states, cameras, ground truth), `/recorder/start` refuses while one
has been silent for STREAM_SILENCE_S (that episode could not be converted), and starts but says
"nothing received yet" while one just subscribed has not arrived (a client can discard and retry).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger

from kiwi_common.features import Mapping, bag_topic, node_topic
from kiwi_common.node_interface import NodeInterface, Param, declare_params, run_node

from .bag import BagError, EpisodeBag, message_class
from .streams import NEVER, NOT_YET_RECEIVED, STREAM_SILENCE_S, stream_check

# Seconds /recorder/start waits for the mapping's topics to be discovered before recording without them.
DISCOVERY_WAIT_S = 3.0

INTERFACE = NodeInterface(
    params=(
        Param("out_dir", "data/bags", "Folder for the episode bags."),
        Param("task", "pick up the cube", "Task string stored with the next episode."),
        Param("robot", "lekiwi", "Robot name stored with each episode."),
        Param(
            "extra_topics",
            [
                "odom",
                "sim/ground_truth/robot",
                "sim/ground_truth/cube",
                "sim/ground_truth/obstacle",
                "arm/command",
                "cmd_vel",
                "teleop/arm/command",
                "teleop/cmd_vel",
                "policy/arm/command",
                "policy/cmd_vel",
                "expert/gate",
                "expert/takeover_reason",
            ],
            "Topics recorded besides the mapping's, when they exist.",
        ),
        Param("mapping", "", "Mapping JSON file; empty: LeRobot's LeKiwi mapping."),
        Param("flush_period", 1.0, "Seconds between flushes of the open bag."),
        Param(
            "min_free_mb",
            200.0,
            "Refuse to start an episode with less free space than this in out_dir (MB; a minute "
            "of both cameras at 640x480 is about 150).",
        ),
    ),
    services=("recorder/start", "recorder/save", "recorder/save_failure", "recorder/discard"),
)
RELIABLE = QoSProfile(depth=100)


class RecorderNode(Node):
    def __init__(self) -> None:
        super().__init__("recorder")
        p = self.p = declare_params(self, INTERFACE)
        self.mapping = Mapping.load(Path(p.mapping)) if p.mapping else Mapping()
        self.out_dir = Path(p.out_dir).expanduser()
        self.wanted = [*self.mapping.topics(), *p.extra_topics]  # as given (names to resolve)
        self.wanted_in_bags = {bag_topic(n) for n in self.wanted}
        self.state_topic = bag_topic(self.mapping.state_topic)
        self.newest_state_ns = 0  # the header stamp of the newest joint state received
        self.bag: EpisodeBag | None = None
        self.stopped: str | None = None  # why the last episode stopped recording on its own
        # Subscribed topic -> monotonic time of its subscription, of its last message.
        self.subscribed_at: dict[str, float] = {}
        self.last_heard: dict[str, float] = {}
        self.create_service(Trigger, "recorder/start", self._on_start)
        self.create_service(Trigger, "recorder/save", lambda rq, rs: self._on_finish(rs, "success"))
        self.create_service(Trigger, "recorder/save_failure", lambda rq, rs: self._on_finish(rs, "failure"))
        self.create_service(Trigger, "recorder/discard", self._on_discard)
        self.create_timer(p.flush_period, self._flush)
        self._subscribe_published()
        self.create_timer(1.0, self._subscribe_published)
        self.get_logger().info(f"recording to {self.out_dir}")

    def _next_episode_dir(self) -> Path:
        suffixes = (d.name.removeprefix("episode_") for d in self.out_dir.glob("episode_*"))
        taken = [int(n) for n in suffixes if n.isdigit()]
        return self.out_dir / f"episode_{max(taken, default=-1) + 1:04d}"

    def _topic_types(self) -> dict[str, str]:
        """Bag name -> type of each wanted topic published now in this node's namespace; bags name
        topics as in the root namespace, so a namespaced robot's episodes convert like any other."""
        available = dict(self.get_topic_names_and_types())
        found = {}
        for name in self.wanted:
            live = self.resolve_topic_name(node_topic(name))
            if live in available:
                found[bag_topic(name)] = available[live][0]
        return found

    def _on_start(self, _request, response):
        if self.bag is not None:
            response.success, response.message = (
                False,
                f"already recording {self.bag.path.name}; save or discard it",
            )
            return response
        called = time.monotonic()  # no message is taken while this callback waits below
        # Discovery is gradual: a graph just started may not show every publisher yet.
        deadline = called + DISCOVERY_WAIT_S
        while True:
            topics = self._topic_types()
            missing = [t for t in self.mapping.topics() if bag_topic(t) not in topics]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self._subscribe_published(topics)
        streams = [t for t in self.mapping.streams() if t in topics]
        pending, silent = stream_check(streams, self.subscribed_at, self.last_heard, called)
        if silent:
            response.success, response.message = (
                False,
                f"cannot start an episode: nothing in the last {STREAM_SILENCE_S:g} s on "
                f"{', '.join(silent)}; is its node running?",
            )
            self.get_logger().warning(response.message)
            return response
        self.stopped = None
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            free_mb = shutil.disk_usage(self.out_dir).free / 1e6
            if free_mb < self.p.min_free_mb:
                raise OSError(
                    f"{free_mb:.1f} MB free in {self.out_dir}, less than min_free_mb ({self.p.min_free_mb:g})"
                )
            path = self._next_episode_dir()
            task = self.get_parameter("task").value
            self.bag = EpisodeBag(
                path,
                topics,
                {
                    "task": task,
                    "robot": self.p.robot,
                    "outcome": "unfinished",
                    "mapping": self.mapping.to_json(),
                },
            )
        except (BagError, OSError) as exc:
            self.get_logger().error(f"cannot start an episode: {exc}")
            response.success, response.message = False, f"cannot start an episode: {exc}"
            return response
        response.success = True
        response.message = (
            f"recording {path.name}: {len(topics)} topics"
            + (f"; not published now, so not recorded: {', '.join(missing)}" if missing else "")
            + (f"; {NOT_YET_RECEIVED} (just subscribed) on {', '.join(pending)}" if pending else "")
        )
        # Two call sites: rclpy refuses one that logs at more than one severity.
        if missing or pending:
            self.get_logger().warning(response.message)
        else:
            self.get_logger().info(response.message)
        return response

    def _subscribe_published(self, topics: dict[str, str] | None = None) -> None:
        """Subscribe to the wanted topics published now (`topics`: already looked up) not yet subscribed."""
        if topics is None and self.wanted_in_bags <= self.subscribed_at.keys():
            return  # all subscribed: no graph query every second
        for topic, msgtype in (self._topic_types() if topics is None else topics).items():
            if topic in self.subscribed_at:
                continue
            self.subscribed_at[topic], self.last_heard[topic] = time.monotonic(), NEVER
            try:
                kind = message_class(msgtype)
            except (ImportError, AttributeError, ValueError) as exc:  # reported once, never recorded
                self.get_logger().error(f"cannot record {topic}: its type {msgtype} is not available ({exc})")
                continue
            qos = qos_profile_sensor_data if "camera/" in topic else RELIABLE
            self.create_subscription(
                kind, node_topic(topic), lambda data, t=topic: self._on_message(t, data), qos, raw=True
            )

    def _on_message(self, topic: str, data: bytes) -> None:
        self.last_heard[topic] = time.monotonic()
        if topic == self.state_topic:
            stamp = deserialize_message(data, JointState).header.stamp
            self.newest_state_ns = stamp.sec * 10**9 + stamp.nanosec
        if self.bag is None or topic not in self.bag.connections:  # appeared after the start: not in this bag
            return
        try:
            self.bag.write(topic, max(self.get_clock().now().nanoseconds, self.newest_state_ns), data)
        except BagError as exc:
            self._fail(exc)

    def _flush(self) -> None:
        if self.bag is not None:
            try:
                self.bag.flush()
            except BagError as exc:
                self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        """Writing failed (disk full, folder gone): stop recording loudly, keep what is on disk, and
        say so to whoever asks to save the episode."""
        self.stopped = (
            f"recording stopped: {exc}; the episode so far stays in {self.bag.path} "
            "(kiwi convert recovers it)"
        )
        self.get_logger().error(self.stopped)
        self.bag = None

    def _take_bag(self) -> EpisodeBag:
        """Stop recording; the caller finishes or discards the bag."""
        bag, self.bag = self.bag, None
        return bag

    def _close(self, outcome: str) -> Path:
        bag = self._take_bag()
        bag.set_custom_data("outcome", outcome)
        bag.close()
        return bag.path

    def _on_finish(self, response, outcome: str):
        if self.bag is None:
            response.success, response.message = False, self.stopped or "not recording"
            return response
        count = self.bag.count
        try:
            path = self._close(outcome)
        except BagError as exc:
            response.success, response.message = False, str(exc)
            self.get_logger().error(str(exc))
            return response
        response.success, response.message = True, f"saved {path} ({count} messages, {outcome})"
        self.get_logger().info(response.message)
        return response

    def _on_discard(self, _request, response):
        if self.bag is None:
            response.success, response.message = False, "not recording"
            return response
        bag = self._take_bag()
        bag.discard()
        response.success, response.message = True, f"discarded {bag.path.name}"
        self.get_logger().info(response.message)
        return response

    def shutdown(self) -> None:
        """Ctrl-C mid-episode: close the bag so it is complete, marked unfinished."""
        if self.bag is not None:
            path = self._close("unfinished")
            self.get_logger().warning(f"stopped mid-episode: {path} kept, outcome 'unfinished'")


def main(args=None) -> int:
    return run_node(RecorderNode, "recorder", args)


if __name__ == "__main__":
    import sys

    sys.exit(main())
