import math

import pytest

from kiwi_common import units
from kiwi_description.constants import ARM_LIMITS


def test_gripper_percent_spans_the_jaw_range():
    lim = ARM_LIMITS["arm_gripper"]
    assert units.gripper_rad_to_percent(lim.lower) == pytest.approx(0.0)
    assert units.gripper_rad_to_percent(lim.upper) == pytest.approx(100.0)
    assert units.gripper_percent_to_rad(50.0) == pytest.approx((lim.lower + lim.upper) / 2)


@pytest.mark.parametrize(
    "name, rad", [("arm_elbow_flex", 0.7), ("arm_wrist_roll", -2.0), ("arm_gripper", 0.4)]
)
def test_joint_round_trip(name, rad):
    assert units.joint_lerobot_to_rad(name, units.joint_rad_to_lerobot(name, rad)) == pytest.approx(rad)


def test_arm_joints_are_degrees():
    assert units.joint_rad_to_lerobot("arm_shoulder_pan", math.pi / 2) == pytest.approx(90.0)
