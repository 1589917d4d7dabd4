import pytest

from kiwi_experiments.evaluation import Rollout, Sample, aggregate, passing_side, rising_edges, summarize

OBSTACLE = (0.4, 0.0)


def path(points, dt=0.1, cube_z=None, intervention=(), gate=(), contact=()):
    return [
        Sample(k * dt, x, y, 0.0, (cube_z or {}).get(k, 0.015), k in intervention, k in gate, k in contact)
        for k, (x, y) in enumerate(points)
    ]


def test_rising_edges():
    assert rising_edges([]) == 0
    assert rising_edges([True, True, False, True, False, False, True]) == 3


def test_passing_side():
    left = path([(0.0, 0.0), (0.2, 0.2), (0.4, 0.3), (0.6, 0.2)])
    assert passing_side(left, OBSTACLE) == "left"
    assert passing_side(path([(0.0, 0.0), (0.4, -0.3)]), OBSTACLE) == "right"
    assert passing_side(path([(0.0, 0.0), (0.2, 0.0)]), OBSTACLE) is None, "never came level with it"
    assert passing_side(left, None) is None


def test_summary_of_a_lifted_episode_with_a_bump_and_an_intervention():
    points = [(0.05 * k, 0.0) for k in range(6)] + [(0.25, 0.3)] * 4
    rollout = Rollout(
        7,
        OBSTACLE,
        path(points, cube_z={9: 0.05}, intervention={6, 7}, gate={5, 6, 8}, contact={3, 4, 5}),
        base_errors=[0.1, 0.3],
        arm_errors=[0.0, 0.1],
    )
    s = summarize(rollout)
    assert s["success"] and s["time_to_success"] == pytest.approx(0.9)
    # At (0.25, 0): 0.11 m from the obstacle's face, less the 0.14 m chassis radius: overlapping.
    assert s["collisions"] == 1 and s["min_clearance"] < 0
    assert s["interventions"] == 1 and s["intervention_time"] == pytest.approx(0.2)
    assert s["gate_fires"] == 2
    assert s["base_error"] == pytest.approx(0.2) and s["arm_error_deg"] == pytest.approx(2.865, abs=1e-3)


def test_summary_needs_samples_and_aggregate_counts():
    with pytest.raises(ValueError, match="seed 3"):
        summarize(Rollout(3, None))
    lifted = summarize(Rollout(1, OBSTACLE, path([(0.0, 0.0), (0.4, 0.3)], cube_z={1: 0.05})))
    missed = summarize(Rollout(2, OBSTACLE, path([(0.0, 0.0), (0.4, -0.3)])))
    row = aggregate([lifted, missed])
    assert row["success"] == 0.5 and row["left"] == 1 and row["right"] == 1
    assert row["time_to_success"] == pytest.approx(0.1)
    assert row["collision_episodes"] == 0


def test_summaries_cut_off_by_a_kill_are_dropped(tmp_path):
    from kiwi_experiments.plan import read_summaries

    path = tmp_path / "eval.jsonl"
    assert read_summaries(path) == []
    path.write_text('{"seed": 1}\n{"seed": 2}\n{"seed": ')
    assert read_summaries(path) == [{"seed": 1}, {"seed": 2}]
    assert path.read_text() == '{"seed": 1}\n{"seed": 2}\n'
