"""A run folder remembers the code that made it, and refuses to be resumed by other code."""

import json

import pytest

from kiwi_experiments.demo import Demo
from kiwi_experiments.plan import QUICK, DemoError, code_version


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
