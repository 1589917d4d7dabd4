"""A run folder remembers the code that made it, and refuses to be resumed by other code."""

import json
from dataclasses import replace

import pytest

from kiwi_experiments.demo import Demo
from kiwi_experiments.plan import QUICK, DemoConfig, DemoError, code_version, sampler_scale


def test_code_version_names_the_sources():
    version = code_version()
    assert len(version["fingerprint"]) == 16 and version == code_version(), "stable for the same code"
    assert version["commit"] is None or len(version["commit"]) == 40


def test_stages_made_by_other_code_are_not_resumed(tmp_path):
    Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()
    made = json.loads((tmp_path / "run" / "code.json").read_text())
    assert made == code_version()
    Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()  # the same code resumes
    (tmp_path / "run" / "code.json").write_text(json.dumps({**made, "fingerprint": "0" * 16}))
    with pytest.raises(DemoError, match="made by other code"):
        Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()


def _raise_from(cause):
    def stage(config):
        try:
            raise cause
        except BaseException as exc:  # as the import system does when an extension's init is cut
            raise ImportError("initialization failed") from exc

    return stage


def test_an_interrupt_during_an_import_stops_the_run_like_any_other(tmp_path, capsys):
    from kiwi_experiments.cli import parse_args
    from kiwi_experiments.demo import run_demo

    args = parse_args(["demo", "--quick", "--out", str(tmp_path / "run")])
    assert run_demo(args, ["demo", "--quick"], run=_raise_from(KeyboardInterrupt())) == 130
    assert "Run the same command again to continue" in capsys.readouterr().err
    with pytest.raises(ImportError):  # a real import error is not hidden
        run_demo(args, ["demo", "--quick"], run=_raise_from(OSError("libGL missing")))


def test_lerobot_options_after_the_double_dash_train_every_model_and_are_kept(tmp_path):
    from kiwi_experiments.cli import command_line, parse_args
    from kiwi_experiments.demo import config_from_args
    from kiwi_experiments.report import reproduce_section, training_commands

    given = ["demo", "--quick", "--policy", "act", "--out", str(tmp_path / "run")]
    args = parse_args([*given, "--", "--policy.dim_model=32", "--policy.kl_weight=1"])
    demo = Demo(args.out, config_from_args(args), command_line("demo", args))
    demo.prepare()
    commands = training_commands(demo)
    assert len(commands) == len(demo.trainings) > 1
    for command in commands:  # the given options replace the CPU defaults, in every training
        assert "--policy.dim_model=32" in command and "--policy.kl_weight=1" in command
        assert "--policy.dim_model=64" not in command
    assert "-- --policy.dim_model=32 --policy.kl_weight=1" in "\n".join(reproduce_section(demo))
    other = parse_args([*given, "--", "--policy.kl_weight=10"])  # a resume with other options
    with pytest.raises(DemoError, match="other settings"):
        Demo(other.out, config_from_args(other), command_line("demo", other)).prepare()


def test_options_the_run_sets_per_model_are_refused_after_the_double_dash(tmp_path, capsys):
    from kiwi_experiments.cli import parse_args
    from kiwi_experiments.demo import run_demo

    args = parse_args(["demo", "--quick", "--out", str(tmp_path / "run"), "--", "--steps=5", "--policy.lr=1"])
    assert run_demo(args, ["demo"]) == 1
    assert "kiwi demo sets --steps for each model itself" in capsys.readouterr().err
    assert not (tmp_path / "run").exists(), "refused before anything ran"


def test_the_chunk_that_drops_short_corrections_follows_the_given_options():
    from kiwi_experiments.plan import chunk_frames

    assert chunk_frames(QUICK) == 10  # kiwi_mlp's
    assert chunk_frames(replace(QUICK, train_args="--policy.chunk_size=25 --policy.n_action_steps=25")) == 25
    assert chunk_frames(replace(QUICK, policy="diffusion")) == 16  # its horizon


def test_a_setting_a_run_folder_predates_counts_as_its_default(tmp_path):
    Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    del saved["train_args"]  # written before the setting existed
    (tmp_path / "run" / "config.json").write_text(json.dumps(saved))
    Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()
    (tmp_path / "run" / "config.json").write_text(json.dumps({**saved, "demos": 7}))
    with pytest.raises(DemoError, match=r"other settings \(demos 7 -> 2\)"):
        Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()
    # Diffusion's sampler noise is compared as the scale it resolves to: kiwi_mlp's recorded 1 is
    # its unset default; a Diffusion run from before the setting existed ran LeRobot's 1, not 0.5.
    (tmp_path / "run" / "config.json").write_text(json.dumps({**saved, "diffusion_noise": 1.0}))
    Demo(tmp_path / "run", QUICK, ["demo", "--quick"]).prepare()
    diffusion = replace(QUICK, policy="diffusion")
    before = {k: v for k, v in saved.items() if k != "diffusion_noise"} | {"policy": "diffusion"}
    (tmp_path / "run" / "config.json").write_text(json.dumps(before))
    with pytest.raises(DemoError, match=r"other settings \(diffusion_noise 1.0 -> 0.5\)"):
        Demo(tmp_path / "run", diffusion, ["demo", "--quick"]).prepare()
    Demo(tmp_path / "run", replace(diffusion, diffusion_noise=1.0), ["demo", "--quick"]).prepare()


def test_round_0_trains_each_policy_to_its_plateau_unless_told(tmp_path):
    from kiwi_experiments.cli import parse_args
    from kiwi_experiments.demo import config_from_args
    from kiwi_policy.train import TRAINING_STEPS

    def steps(*given):
        return config_from_args(parse_args(["demo", "--out", str(tmp_path), *given])).steps

    assert steps("--policy", "act") == TRAINING_STEPS["act"] > steps() == DemoConfig().steps
    assert steps("--policy", "diffusion") == TRAINING_STEPS["diffusion"]
    assert steps("--policy", "act", "--steps", "500") == 500, "the user's steps win"
    assert steps("--policy", "act", "--quick") == QUICK.steps, "a smoke run stays tiny"


def test_the_sampler_noise_is_an_option_of_diffusion_runs_only(tmp_path):
    from kiwi_experiments.cli import parse_args
    from kiwi_experiments.demo import config_from_args

    def config(*given):
        return config_from_args(parse_args(["demo", "--out", str(tmp_path), *given]))

    from kiwi_experiments.report import sampler_text

    zero = config("--policy", "diffusion", "--diffusion-noise", "0")
    assert zero.diffusion_noise == 0.0
    assert "scaled by 0 (`--diffusion-noise`" in sampler_text(zero), "the report says so"
    default = config("--policy", "diffusion")
    assert sampler_scale(default) == 0.5, "Kiwi's DDIM preset samples from half LeRobot's noise unless told"
    assert "scaled by 0.5 (Kiwi's default for a DDIM Diffusion" in sampler_text(default)
    assert sampler_text(config("--policy", "diffusion", "--diffusion-noise", "1")) == "", "LeRobot's"
    ddpm = config("--policy", "diffusion", "--", "--policy.noise_scheduler_type=DDPM")
    assert sampler_scale(ddpm) == 1.0, "DDPM: LeRobot's draw, its steps add noise anyway"
    assert sampler_scale(config("--policy", "act")) == 1.0
    with pytest.raises(DemoError, match="--diffusion-noise: diffusion_noise is for Diffusion, not 'act'"):
        config("--policy", "act", "--diffusion-noise", "0")
    with pytest.raises(DemoError, match="for a DDIM sampler .*, not DDPM"):  # refused before training
        config("--policy", "diffusion", "--diffusion-noise", "0", "--", "--policy.noise_scheduler_type=DDPM")
    with pytest.raises(SystemExit):  # argparse: a negative scale is no scale
        config("--policy", "diffusion", "--diffusion-noise", "-1")
