"""The policy node's ROS-free core: ticks, holds, the worker thread and its failures, resets,
interventions. The predictor here is a stand-in for a LeRobot policy (a chunk of known actions)."""

import threading
import time

import numpy as np
import pytest

from kiwi_common.features import MOTOR_NAMES, action_vector
from kiwi_description import constants as c
from kiwi_policy.runtime import ERROR, OK, WARN, PolicyRuntime, Snapshot
from kiwi_policy.scheduler import ChunkScheduler

DT = 1 / 30
PRESENT = {j: 0.1 for j in c.ARM_JOINTS}
POLICY_ARM = {j: 0.5 for j in c.ARM_JOINTS}
POLICY_TWIST = (0.1, 0.0, 0.0)


class Predictor:
    """Chunks of 10 copies of one action; can be told to block, fail, or count its calls."""

    def __init__(self):
        self.calls = 0
        self.fail = 0  # fail this many calls
        self.gate: threading.Event | None = None  # block each call until set
        self.started = threading.Event()

    def reset(self):
        pass

    def predict(self, observations):
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("the policy broke")
        return np.tile(action_vector(POLICY_ARM, POLICY_TWIST), (10, 1))


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.005)
    return condition()


@pytest.fixture
def parts():
    predictor, clock, problems, chunks = Predictor(), Clock(), {"text": ""}, []
    runtime = PolicyRuntime(
        predictor,
        observe=lambda data: {"observation.state": np.zeros(len(MOTOR_NAMES))},
        problem=lambda data, now: problems["text"],
        scheduler=ChunkScheduler("latest"),
        n_obs_steps=1,
        dt=DT,
        clock=clock,
        on_chunk=lambda chunk, snapshot: chunks.append(chunk),
        retry_s=0.01,
    )
    yield runtime, predictor, clock, problems, chunks
    runtime.close()


def tick(runtime, clock):
    return runtime.tick(Snapshot(clock.t, None), PRESENT)


def test_stopped_sends_nothing_then_holds_until_the_first_chunk_then_drives(parts):
    runtime, predictor, clock, _, chunks = parts
    assert tick(runtime, clock) is None
    predictor.gate = threading.Event()  # the first inference takes a while
    runtime.start()
    first = tick(runtime, clock)
    assert first.held and first.arm == PRESENT and first.twist == (0.0, 0.0, 0.0), "hold, never zeros"
    predictor.gate.set()
    assert wait_for(lambda: chunks)
    command = tick(runtime, clock)
    assert not command.held and command.twist == pytest.approx(POLICY_TWIST)
    assert command.arm == pytest.approx(POLICY_ARM)
    assert runtime.health()[0] == OK


def test_a_hold_keeps_the_last_target_sent(parts):
    runtime, _, clock, _, chunks = parts
    runtime.start()
    tick(runtime, clock)
    assert wait_for(lambda: chunks)
    tick(runtime, clock)
    clock.t += 11 * DT  # the chunk is used up and (blocked) no new one comes
    runtime.close()  # no more chunks
    held = tick(runtime, clock)
    assert held.held and held.arm == pytest.approx(POLICY_ARM), "the arm stays where it was sent"


def test_reset_during_inference_discards_the_chunk(parts):
    runtime, predictor, clock, _, chunks = parts
    predictor.gate = threading.Event()
    runtime.start()
    tick(runtime, clock)
    assert predictor.started.wait(5)
    runtime.reset()  # a new episode while the old observation is being inferred
    predictor.gate.set()
    time.sleep(0.1)
    assert not runtime.scheduler.chunks, "a chunk of the old episode must not drive the new one"
    assert runtime.stats.chunks == 0 and runtime.stats.latencies, "inferred, then thrown away"


def test_stale_observations_are_refused_and_counted(parts):
    runtime, predictor, clock, problems, _ = parts
    problems["text"] = "/joint_states is 0.40 s old"
    runtime.start()
    tick(runtime, clock)
    assert wait_for(lambda: runtime.stats.stale >= 1)
    assert predictor.calls == 0
    level, message, values = runtime.health()
    assert level == WARN and "observation refused: /joint_states is 0.40 s old" in message
    assert values["stale"] != "0"


def test_a_failing_predictor_is_reported_and_retried(parts):
    runtime, predictor, clock, _, chunks = parts
    predictor.fail = 2
    runtime.start()
    for _ in range(50):
        tick(runtime, clock)
        if chunks:
            break
        time.sleep(0.02)
    assert chunks, "a policy error is retried, not fatal"
    assert runtime.stats.errors == 2 and "the policy broke" in runtime.last_problem
    assert runtime.worker.is_alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_is_an_error_and_the_robot_holds(parts):
    runtime, _, clock, _, _ = parts

    def broken_publisher(chunk, snapshot):
        raise ValueError("publisher exploded")

    runtime.on_chunk = broken_publisher
    runtime.start()
    tick(runtime, clock)
    assert wait_for(lambda: not runtime.worker.is_alive())
    level, message, _ = runtime.health()
    assert level == ERROR and "publisher exploded" in message and "holding" in message
    # The scheduler still holds the chunk the worker added before dying; the robot holds anyway.
    command = tick(runtime, clock)
    assert command.held and command.twist == (0.0, 0.0, 0.0)


def test_hand_back_is_driven_by_a_fresh_chunk_without_a_gap(parts):
    runtime, predictor, clock, _, chunks = parts
    runtime.start()
    tick(runtime, clock)
    assert wait_for(lambda: chunks)
    runtime.set_intervention(True)
    calls = predictor.calls
    for _ in range(5):  # the human drives for 5 ticks; the policy replans at every one
        clock.t += DT
        tick(runtime, clock)
        wait_for(lambda: not runtime.wanted.is_set(), 1.0)
        time.sleep(0.02)
    assert predictor.calls >= calls + 4
    newest = runtime.scheduler.chunks[-1]
    runtime.set_intervention(False)
    clock.t += DT
    command = tick(runtime, clock)
    assert not command.held, "no dry start at the hand-back"
    assert clock.t - newest.t0 <= 2 * DT, "the chunk driving after the hand-back is fresh"


def test_a_chunk_is_executed_whole_before_the_next_is_asked_for(parts):
    runtime, predictor, clock, _, chunks = parts
    runtime.start()
    tick(runtime, clock)
    assert wait_for(lambda: chunks)
    calls = predictor.calls
    # 10 actions: the next is not wanted while more than its lead is left. The chunk came at once
    # (age 0), but one asked for at a tick is used from the next: the lead is one tick.
    for _ in range(7):
        clock.t += DT
        assert not tick(runtime, clock).held
        time.sleep(0.01)
    assert predictor.calls == calls and runtime.stats.ages[-1] == pytest.approx(0.0)
    clock.t += DT
    assert not tick(runtime, clock).held  # two actions left: the next chunk is asked for
    assert wait_for(lambda: len(chunks) == 2)
    for _ in range(2):
        clock.t += DT
        assert not tick(runtime, clock).held, "the next chunk came in time: no dry tick"
