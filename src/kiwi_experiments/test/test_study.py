"""The study's arithmetic across repetitions and its resume, from repetitions' results written here."""

import json

import pytest

from kiwi_experiments.plan import QUICK, DemoConfig, DemoError, diagnoses, evaluations, trainings
from kiwi_experiments.study import comparison_rows, figures, run_study, write_study_report


def results(seed, r0, hg, control, bc, twin, takeovers):
    """A repetition's results.json with these held-out success rates (100 layouts) and take-overs."""
    rows = {
        f"eval_{name}": {"episodes": 100, "success": rate, "lifted": min(1.0, rate + 0.05)}
        for name, rate in (("r0", r0), ("control", control), ("bc", bc), ("r0_seed2", twin))
    }
    rows |= {
        f"eval_hg_r{r}": {"episodes": 100, "success": rate, "lifted": rate} for r, rate in enumerate(hg, 1)
    }
    rows |= {
        f"rollouts_r{r}": {"episodes": 20, "interventions_per_episode": t} for r, t in enumerate(takeovers)
    }
    config = {**DemoConfig().__dict__, "seed": seed, "rounds": len(hg)}
    return {
        "config": config,
        "rows": rows,
        "timings_s": {"train r0": 600.0},
        "code": {"commit": "abcdef0123", "fingerprint": "f"},
    }


REPETITIONS = [
    results(0, 0.5, [0.6, 0.7, 0.9], 0.6, 0.7, 0.45, [0.8, 0.6, 0.5, 0.3]),
    results(1, 0.4, [0.5, 0.8, 0.8], 0.5, 0.6, 0.50, [0.9, 0.7, 0.4, 0.4]),
    results(2, 0.6, [0.7, 0.6, 0.95], 0.7, 0.75, 0.55, [0.7, 0.5, 0.6, 0.2]),
]


def test_figures_and_comparisons_across_repetitions():
    table = [figures(r) for r in REPETITIONS]
    assert table[0]["last"] == 0.9 and table[0]["hg_r2"] == 0.7 and table[0]["takeovers_r3"] == 0.3
    assert table[1]["last_lifted"] == 0.8 and table[2]["minutes"] == 10.0
    rows = {(r["first"], r["second"]): r for r in comparison_rows(table)}
    vs_control = rows[("last", "control")]
    # differences 0.3, 0.3, 0.25
    assert vs_control["wins"] == 3 and vs_control["mean"] == pytest.approx(0.2833, abs=1e-4)
    assert vs_control["p"] < 0.01
    assert rows[("r0_seed2", "r0")]["wins"] == 1, "the noise floor: round 0 against its twin"


def test_study_report_says_what_each_figure_is(tmp_path):
    path = write_study_report(tmp_path, REPETITIONS)
    text = path.read_text()
    assert "3 independent repetitions" in text and "held-out layouts" in text
    assert "| mean ± SD | 50.0 ± 10.0 |" in text, "round 0: 50, 40, 60"
    assert "| last round against the same-steps control | 3 of 3 | +28.3 ± 2.9 |" in text
    assert "ground truth" in text, "the report says what the policy read"
    # control - round 0: +10 each time; |twin - round 0|: 5, 10, 5 -> beyond the noise floor
    assert "moved strict success by +10.0 points" in text and "differ by 6.7 points" in text
    assert "round 0 has not converged" in text
    study = json.loads((tmp_path / "report" / "study.json").read_text())
    assert len(study["repetitions"]) == 3 and study["comparisons"][0]["first"] == "last"
    assert "Code: repetition 0: abcdef0, repetition 1: abcdef0" in text and "different code" not in text


def test_repetitions_of_different_code_are_flagged(tmp_path):
    changed = {**REPETITIONS[1], "code": {"commit": "1234567890", "fingerprint": "g", "dirty": True}}
    text = write_study_report(tmp_path, [REPETITIONS[0], changed]).read_text()
    assert "**The repetitions were made by different code**" in text
    assert "repetition 1: 1234567 (uncommitted changes)" in text
    outside_git = {**REPETITIONS[1], "code": {"commit": None, "dirty": None, "fingerprint": "f"}}
    assert (
        "repetition 1: no commit." in write_study_report(tmp_path, [REPETITIONS[0], outside_git]).read_text()
    )


def test_finished_repetitions_are_not_run_again(tmp_path):
    for k, result in enumerate(REPETITIONS[:2]):
        folder = tmp_path / f"rep_{k}" / "report"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(result))
    report = run_study(tmp_path, DemoConfig(), 2, ["study"], progress=False)  # nothing left to run
    assert "2 independent repetitions" in report.read_text()
    with pytest.raises(DemoError, match="repetition 0 ran with other settings \\(round_steps 1500 -> 500\\)"):
        run_study(tmp_path, DemoConfig(round_steps=500), 2, ["study"], progress=False)
    # A repetition made before a setting existed ran with its default: continued with another, refused.
    results = json.loads((tmp_path / "rep_0" / "report" / "results.json").read_text())
    del results["config"]["observation"]
    (tmp_path / "rep_0" / "report" / "results.json").write_text(json.dumps(results))
    assert "ground truth" in run_study(tmp_path, DemoConfig(), 2, ["study"], progress=False).read_text()
    with pytest.raises(
        DemoError, match="repetition 0 ran with other settings \\(observation state -> images\\)"
    ):
        run_study(tmp_path, DemoConfig(observation="images"), 2, ["study"], progress=False)


def test_baselines_follow_the_rounds_schedule_and_layout_sets_stay_apart():
    config = DemoConfig()
    plan = {t.name: t for t in trainings(config)}
    for arm, dataset in (("control", "r0"), ("bc", "bc")):
        chain = [arm]
        while plan[chain[-1]].start != "r0":
            chain.append(plan[chain[-1]].start)
        assert len(chain) == config.rounds, f"{arm}: one continuation per round, as HG-DAgger's"
        assert all(plan[n].steps == config.round_steps and plan[n].dataset == dataset for n in chain)
    assert [name for name, _ in evaluations(config)][-3:] == ["eval_control", "eval_bc", "eval_r0_seed2"]
    assert [model for _, model in diagnoses(config)] == ["r0", "hg_r3", "control", "bc"]
    held_out = {p.seed for p in config.plans("heldout", 1000)}
    for seed in range(0, 20_001, 997):
        run = DemoConfig(seed=seed)
        kinds = [run.plans(kind, 1000) for kind in ("demos", "extra_demos", "dev")]
        kinds += [run.plans("rollouts", 100, r) for r in range(10)]
        used = [p.seed for plans in kinds for p in plans]
        assert len(set(used)) == len(used), f"seed {seed}: two kinds of episode share a layout"
        assert not set(used) & held_out, f"seed {seed}: a run trains or diagnoses on a held-out layout"
    with pytest.raises(DemoError, match="1001 extra_demos layouts asked; a run has 1000"):
        config.plans("extra_demos", 1001)
    assert [p.seed for p in QUICK.plans("heldout", 2)] == [
        p.seed for p in DemoConfig(seed=7).plans("heldout", 2)
    ]


def test_one_repetition_reports_no_spread_and_no_test(tmp_path):
    text = write_study_report(tmp_path, REPETITIONS[:1]).read_text()
    assert "1 independent repetition of" in text and "nan" not in text
    assert "| last round against the same-steps control | 1 of 1 | +30.0 | – | – |" in text


def test_the_wider_task_is_tabulated_when_measured(tmp_path):
    assert "Not measured" in write_study_report(tmp_path / "old", REPETITIONS).read_text()
    measured = [
        {
            **r,
            "rows": r["rows"]
            | {f"wide_{m}": {"episodes": 100, "success": 0.1 * k} for m in ("r0", "hg_r3", "control", "bc")},
        }
        for k, r in enumerate(REPETITIONS)
    ]
    text = write_study_report(tmp_path / "new", measured).read_text()
    assert "| 2 | 20 | 20 | 20 | 20 |" in text and "| mean ± SD | 10.0 ± 10.0 |" in text
