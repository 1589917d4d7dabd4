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
