"""The chunk scheduler: one action per tick from overlapping, late-arriving chunks."""

import math

import numpy as np
import pytest

from kiwi_policy.scheduler import Chunk, ChunkScheduler

DT = 0.1


def ramp(t0, n, offset=0.0):
    """A chunk whose action i is the scalar t0 + i * DT + offset (so values name their time)."""
    return Chunk(t0, DT, np.array([[t0 + i * DT + offset] for i in range(n)]))


def test_latest_follows_the_newest_chunk_and_drops_what_elapsed():
    s = ChunkScheduler("latest")
    assert s.action(0.0) is None, "dry before any chunk"
    assert s.add(ramp(0.0, 10), now=0.0) == 0
    assert s.action(0.0)[0] == pytest.approx(0.0) and s.action(0.3)[0] == pytest.approx(0.3)
    # A chunk observed at 0.3 arrives at 0.52: its first two actions (0.3, 0.4) already elapsed.
    assert s.add(ramp(0.3, 10, offset=100.0), now=0.52) == 2
    assert s.action(0.5)[0] == pytest.approx(100.5)
    assert s.remaining(0.5) == 8 and s.remaining(1.2) == 1 and s.remaining(1.3) == 0
    assert s.action(1.25)[0] == pytest.approx(101.2), "the last action still holds until its slot ends"
    assert s.action(1.3) is None, "dry after the last chunk ends (the node holds position)"


def test_a_chunk_entirely_in_the_past_is_dropped():
    s = ChunkScheduler()
    assert s.add(ramp(0.0, 3), now=1.0) == 3
    assert s.chunks == [] and s.action(1.0) is None


def test_ensemble_weights_older_predictions_by_exp_minus_m_k():
    m = 0.5
    s = ChunkScheduler("ensemble", ensemble_coeff=m)
    s.add(ramp(0.0, 10, offset=0.0), now=0.0)
    s.add(ramp(0.2, 10, offset=10.0), now=0.2)
    s.add(ramp(0.4, 10, offset=20.0), now=0.4)
    w = np.exp(-m * np.arange(3))
    expected = (w * np.array([0.5, 10.5, 20.5])).sum() / w.sum()
    assert s.action(0.5)[0] == pytest.approx(expected)
    assert ChunkScheduler("average").action(0.0) is None


def test_average_is_the_plain_mean_of_the_candidates():
    s = ChunkScheduler("average")
    s.add(ramp(0.0, 5), now=0.0)
    s.add(ramp(0.1, 5, offset=1.0), now=0.1)
    assert s.action(0.2)[0] == pytest.approx(0.2 + 0.5)
    assert s.action(0.5)[0] == pytest.approx(1.5), "only the newer chunk covers 0.5"


def test_refill_threshold_and_reset():
    s = ChunkScheduler(refill_fraction=0.5)
    assert s.needs_chunk(0.0)
    s.add(ramp(0.0, 10), now=0.0)
    assert not s.needs_chunk(0.0) and not s.needs_chunk(0.4)
    assert s.needs_chunk(0.5), "5 of 10 left"
    s.reset()
    assert s.action(0.5) is None and s.needs_chunk(0.5)


def test_by_default_a_chunk_runs_whole_and_the_next_is_asked_for_in_time():
    s = ChunkScheduler()
    s.add(ramp(0.0, 10), now=0.0)
    asked = [k for k in range(10) if s.needs_chunk(k * DT)]
    assert asked == [9], "instant inference: asked at the chunk's last action"
    slow = [k for k in range(10) if s.needs_chunk(k * DT, lead=2.5 * DT)]
    assert slow[0] == 6, "a chunk taking 2.5 ticks to arrive: asked with 3 actions to run after this tick"


def test_bad_settings_and_chunks_are_refused():
    with pytest.raises(ValueError, match="latest, ensemble, average"):
        ChunkScheduler("newest")
    with pytest.raises(ValueError, match="refill_fraction"):
        ChunkScheduler(refill_fraction=1.5)
    with pytest.raises(ValueError, match="T >= 1"):
        ChunkScheduler().add(Chunk(0.0, DT, np.zeros((0, 9))), 0.0)


def test_index_rounds_ticks_to_the_nearest_action():
    chunk = ramp(1.0, 5)
    assert [chunk.index_at(t) for t in (0.96, 1.04, 1.06, 1.449)] == [0, 0, 1, 4]
    assert math.isclose(chunk.end, 1.4)


def test_a_single_step_action_a_tick_old_runs_with_late_hold():
    dt = 1 / 30
    one = Chunk(1.0, dt, np.array([[7.0]]))
    strict = ChunkScheduler("latest")
    assert strict.add(one, 1.0 + dt) == 1 and strict.action(1.0 + dt) is None, "elapsed: dropped, dry"
    held = ChunkScheduler("latest", late_hold=2 * dt)
    assert held.add(one, 1.0 + dt) == 1
    assert held.action(1.0 + dt)[0] == 7.0 and held.action(1.0 + 2 * dt)[0] == 7.0
    assert held.needs_chunk(1.0 + dt), "a held action is not a plan: keep asking for the next"
    assert held.action(1.0 + 2.5 * dt) is None, "not longer than late_hold"
    newer = Chunk(1.0 + dt, dt, np.array([[8.0]]))
    held.add(newer, 1.0 + 2 * dt)
    assert held.action(1.0 + 2 * dt)[0] == 8.0
