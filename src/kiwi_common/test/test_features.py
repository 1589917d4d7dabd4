import math

import numpy as np
import pytest

from kiwi_common.features import MOTOR_NAMES, Mapping, action_vector, split_action, state_vector
from kiwi_description import constants as c


def test_names_are_lerobots_lekiwi_order():
    assert MOTOR_NAMES == (
        "arm_shoulder_pan.pos",
        "arm_shoulder_lift.pos",
        "arm_elbow_flex.pos",
        "arm_wrist_flex.pos",
        "arm_wrist_roll.pos",
        "arm_gripper.pos",
        "x.vel",
        "y.vel",
        "theta.vel",
    )


def test_features_match_lerobots_lekiwi_schema():
    f = Mapping().features()
    assert list(f) == [
        "action",
        "observation.state",
        "observation.images.front",
        "observation.images.wrist",
        "intervention",
    ]
    assert f["observation.images.front"]["shape"] == (480, 640, 3)
    assert f["observation.images.wrist"]["shape"] == (640, 480, 3)
    assert f["action"] == {"dtype": "float32", "shape": (9,), "names": list(MOTOR_NAMES)}


def test_state_units():
    arm = {j: 0.0 for j in c.ARM_JOINTS} | {
        "arm_elbow_flex": math.radians(30.0),
        c.GRIPPER_JOINT: c.ARM_LIMITS[c.GRIPPER_JOINT].upper,
    }
    # Wheel speeds of a pure 30 deg/s turn: LeRobot's theta.vel is in deg/s.
    from kiwi_description import kinematics as kin

    state = state_vector(arm, kin.body_to_wheel_speeds(0.1, 0.0, math.radians(30.0)))
    assert state.dtype == np.float32
    np.testing.assert_allclose(state, [0, 0, 30, 0, 0, 100, 0.1, 0, 30], atol=1e-4)


def test_action_round_trip():
    arm = {j: 0.1 * i for i, j in enumerate(c.ARM_JOINTS)}
    vec = action_vector(arm, (0.2, -0.1, 0.5))
    back_arm, twist = split_action(vec)
    assert twist == pytest.approx((0.2, -0.1, 0.5), abs=1e-6)
    assert all(back_arm[j] == pytest.approx(arm[j], abs=1e-5) for j in arm)
    with pytest.raises(ValueError, match="9 values"):
        split_action(vec[:6])


def test_mapping_json_round_trip_and_unknown_fields():
    m = Mapping(fps=15.0)
    assert Mapping.from_json(m.to_json()) == m
    with pytest.raises(ValueError, match="unknown mapping fields: bogus"):
        Mapping.from_json('{"bogus": 1}')


def test_environment_state_is_relative_to_the_robot():
    from kiwi_common.features import ENVIRONMENT_NAMES, environment_vector

    # Robot at (1, 1) facing +y; cube 0.5 m further along +y is 0.5 m straight ahead.
    env = environment_vector((1.0, 1.0, math.pi / 2), (1.0, 1.5, 0.015), math.pi / 2 + 0.1, (0.8, 1.2))
    assert len(env) == len(ENVIRONMENT_NAMES)
    assert env[:3] == pytest.approx([0.5, 0.0, 0.015], abs=1e-6)
    assert env[3:5] == pytest.approx([math.sin(0.4), math.cos(0.4)], abs=1e-6)
    assert env[5:] == pytest.approx([0.2, 0.2, 1.0], abs=1e-6), "obstacle 0.2 m ahead, 0.2 m to the left"
    # A cube turned by 90 degrees looks the same; no obstacle reads as zeros.
    turned = environment_vector((1.0, 1.0, math.pi / 2), (1.0, 1.5, 0.015), math.pi + 0.1, None)
    assert turned[3:5] == pytest.approx(env[3:5], abs=1e-6)
    assert list(turned[5:]) == [0.0, 0.0, 0.0]


def test_state_only_mapping_has_environment_state_and_no_images():
    from kiwi_common.features import ENVIRONMENT_STATE, GROUND_TRUTH_TOPICS

    mapping = Mapping().state_only()
    feats = mapping.features(use_videos=False)
    assert list(feats) == ["action", "observation.state", ENVIRONMENT_STATE, "intervention"]
    assert set(GROUND_TRUTH_TOPICS.values()) <= set(mapping.topics())
    assert Mapping.from_json(mapping.to_json()) == mapping


def test_relative_topics_in_a_mapping_name_the_bags_topics():
    """A mapping written with relative names (as nodes subscribe) still finds the bag's topics:
    `kiwi demo` once lost every base action this way (its mapping said `teleop/cmd_vel`)."""
    mapping = Mapping(cmd_vel_topic="teleop/cmd_vel", cameras={"front": "camera/front/image_raw"})
    assert mapping.cmd_vel_topic == "/teleop/cmd_vel"
    assert mapping.cameras == {"front": "/camera/front/image_raw"}
    assert Mapping.from_json(mapping.to_json()) == mapping
