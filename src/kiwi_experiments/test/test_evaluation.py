import pytest

from kiwi_experiments.evaluation import Rollout, Sample, aggregate, passing_side, rising_edges, summarize

OBSTACLE = (0.4, 0.0)


def path(points, dt=0.1, cube_z=None, intervention=(), gate=(), contact=(), jaws=()):
    return [
        Sample(
            k * dt,
            x,
            y,
            0.0,
            (cube_z or {}).get(k, 0.015),
            k in intervention,
            k in gate,
            k in contact,
            k in jaws,
        )
        for k, (x, y) in enumerate(points)
    ]


def held(ticks):
    """The cube 7 cm up (5.5 above its rest) and between the jaws at these ticks."""
    return {"cube_z": {k: 0.07 for k in ticks}, "jaws": set(ticks)}


def test_rising_edges():
    assert rising_edges([]) == 0
    assert rising_edges([True, True, False, True, False, False, True]) == 3


def test_passing_side():
    left = path([(0.0, 0.0), (0.2, 0.2), (0.4, 0.3), (0.6, 0.2)])
    assert passing_side(left, OBSTACLE) == "left"
    assert passing_side(path([(0.0, 0.0), (0.4, -0.3)]), OBSTACLE) == "right"
    assert passing_side(path([(0.0, 0.0), (0.2, 0.0)]), OBSTACLE) is None, "never came level with it"
    assert passing_side(left, None) is None


def test_strict_success_needs_the_jaws_the_height_and_a_whole_second():
    still = [(0.3, 0.0)] * 30
    assert summarize(Rollout(1, None, path(still, **held(range(5, 16)))))["time_to_success"] == pytest.approx(
        1.5
    )
    broken = held([*range(5, 12), *range(13, 20)])  # dropped for one tick: the second starts again
    assert not summarize(Rollout(1, None, path(still, **broken)))["success"]
    balanced = summarize(Rollout(1, None, path(still, cube_z={k: 0.07 for k in range(30)})))
    assert not balanced["success"] and balanced["lifted"], "up, but not between the jaws"
    low = summarize(Rollout(1, None, path(still, cube_z={k: 0.06 for k in range(30)}, jaws=range(30))))
    assert not low["success"] and low["lifted"], "4.5 cm above its rest is not 5"


def test_success_is_seen_as_the_samples_arrive():
    still = [(0.3, 0.0)] * 30
    samples = path(still, **held([*range(2, 8), *range(10, 21)]))  # a drop, then 1 s held from tick 10
    rollout = Rollout(1, None)
    seen = []
    for sample in samples:
        rollout.samples.append(sample)
        seen.append(rollout.succeeded())
    assert seen.index(True) == 20 and all(seen[20:]), "from the tick the second is full, and then on"
    assert Rollout(1, None, samples).succeeded(), "samples given at once count the same"


def test_summary_of_a_held_episode_with_a_bump_and_an_intervention():
    points = [(0.05 * k, 0.0) for k in range(6)] + [(0.25, 0.3)] * 14
    rollout = Rollout(
        7,
        OBSTACLE,
        path(points, **held(range(9, 20)), intervention={6, 7}, gate={5, 6, 8}, contact={3, 4, 5}),
        base_errors=[0.1, 0.3],
        arm_errors=[0.0, 0.1],
    )
    s = summarize(rollout)
    assert s["success"] and s["lifted"] and s["time_to_success"] == pytest.approx(1.9)
    # At (0.25, 0): 0.11 m from the obstacle's face, less the 0.14 m chassis radius: overlapping.
    assert s["collisions"] == 1 and s["min_clearance"] < 0
    assert s["interventions"] == 1 and s["intervention_time"] == pytest.approx(0.2)
    assert s["gate_fires"] == 2
    assert s["base_error"] == pytest.approx(0.2) and s["arm_error_deg"] == pytest.approx(2.865, abs=1e-3)


def test_summary_needs_samples_and_aggregate_counts():
    with pytest.raises(ValueError, match="seed 3"):
        summarize(Rollout(3, None))
    points = [(0.0, 0.0)] + [(0.4, 0.3)] * 11
    lifted = summarize(Rollout(1, OBSTACLE, path(points, **held(range(1, 12)))))
    missed = summarize(Rollout(2, OBSTACLE, path([(0.0, 0.0), (0.4, -0.3)], cube_z={1: 0.05})))
    row = aggregate([lifted, missed])
    assert row["success"] == 0.5 and row["left"] == 1 and row["right"] == 1
    assert row["lifted"] == 1.0, "the loose measure counts the cube that only rose"
    assert row["time_to_success"] == pytest.approx(1.1)
    assert row["collision_episodes"] == 0


def test_summaries_cut_off_by_a_kill_are_dropped_and_damaged_ones_named(tmp_path, capsys):
    import json

    from kiwi_experiments.plan import DemoError, read_summaries

    first, second = (summarize(Rollout(k, OBSTACLE, path([(0.0, 0.0), (0.4, 0.3)]))) for k in (1, 2))
    whole = json.dumps(first) + "\n" + json.dumps(second) + "\n"
    path_ = tmp_path / "eval.jsonl"
    assert read_summaries(path_) == []
    path_.write_text(whole + json.dumps(first)[:40])
    assert read_summaries(path_) == [first, second]
    assert path_.read_text() == whole, "the cut line is rewritten away"
    assert "its last line was cut off" in capsys.readouterr().err
    # A damaged line before the last, or a line that is no episode's summary, is named.
    path_.write_text(json.dumps(first)[:40] + "\n" + json.dumps(second) + "\n")
    with pytest.raises(DemoError, match="line 1 is damaged"):
        read_summaries(path_)
    path_.write_text(json.dumps({**first, "success": "yes"}) + "\n" + json.dumps(second) + "\n")
    with pytest.raises(DemoError, match="line 1 is damaged .success is 'yes'"):
        read_summaries(path_)
