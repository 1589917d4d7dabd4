import math

import numpy as np
import pytest

from kiwi_description.constants import ARM_JOINTS, ARM_LIMITS
from kiwi_driver.commands import (
    CommandError,
    Watchdog,
    arm_targets,
    check_stamp,
    parse_arm_command,
    parse_twist,
)


def test_parse_arm_command_accepts_a_subset():
    assert parse_arm_command(["arm_elbow_flex"], [0.5]) == {"arm_elbow_flex": 0.5}


@pytest.mark.parametrize(
    "names, positions, reason",
    [
        ([], [], "no joint names"),
        (["arm_elbow_flex"], [0.1, 0.2], "1 names but 2 positions"),
        (["arm_elbow_flex", "arm_elbow_flex"], [0.1, 0.2], "duplicate"),
        (["arm_elbow"], [0.1], "unknown joint(s) arm_elbow"),
        (["arm_elbow_flex"], [math.nan], "non-finite position for arm_elbow_flex"),
        (["arm_elbow_flex"], [math.inf], "non-finite"),
    ],
)
def test_parse_arm_command_rejects(names, positions, reason):
    with pytest.raises(CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_arm_command(names, positions)


def test_parse_twist_rejects_non_finite():
    assert parse_twist(0.1, 0, 0) == (0.1, 0.0, 0.0)
    with pytest.raises(CommandError):
        parse_twist(0.1, math.nan, 0)


def test_check_stamp():
    check_stamp(9.6, 10.0, 0.5)
    check_stamp(0.0, 10.0, 0.5)  # unstamped
    check_stamp(1.0, 10.0, 0.0)  # disabled
    with pytest.raises(CommandError, match="stale"):
        check_stamp(9.4, 10.0, 0.5)


def test_arm_targets_keep_unnamed_joints_and_clamp_limits_and_step():
    present = np.zeros(6)
    previous = np.full(6, 0.05)
    out = arm_targets({"arm_elbow_flex": 10.0, "arm_shoulder_pan": -0.02}, previous, present, max_step=0.1)
    i_elbow, i_pan = ARM_JOINTS.index("arm_elbow_flex"), ARM_JOINTS.index("arm_shoulder_pan")
    assert out[i_elbow] == pytest.approx(0.1)  # step-limited
    assert out[i_pan] == pytest.approx(-0.02)
    others = [i for i in range(6) if i not in (i_elbow, i_pan)]
    assert out[others] == pytest.approx(previous[others])
    # Without a step limit, joint limits still apply.
    out = arm_targets({"arm_elbow_flex": 10.0}, previous, present, max_step=0.0)
    assert out[i_elbow] == pytest.approx(ARM_LIMITS["arm_elbow_flex"].upper)


def test_watchdog():
    w = Watchdog(0.5)
    assert w.expired(0.0)
    w.feed(1.0)
    assert not w.expired(1.4) and w.expired(1.6)
