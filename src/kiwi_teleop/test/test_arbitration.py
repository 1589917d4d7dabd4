import pytest

from kiwi_teleop.arbitration import Arbiter, blend


def test_blend():
    assert blend({"a": 0.0}, {"a": 10.0, "b": 1.0}, 0.25) == {"a": 2.5, "b": 1.0}
    assert blend({"a": 0.0}, {"a": 10.0}, 2.0) == {"a": 10.0}


def test_teleop_mode_always_forwards_the_human_and_never_flags_intervention():
    arb = Arbiter("teleop")
    assert arb.human("arm", {"j": 1.0}, 0.0) == {"j": 1.0}
    assert arb.policy("arm", {"j": 2.0}, 0.0) is None
    assert not arb.intervention(0.0)


def test_shared_mode_policy_until_engaged_then_human_until_timeout():
    arb = Arbiter("shared", human_timeout=0.5, handback_s=1.0)
    assert arb.policy("arm", {"j": 0.0}, 0.0) == {"j": 0.0}
    assert arb.human("arm", {"j": 5.0}, 0.1) is None, "a human source that is not engaged is ignored"
    arb.engaged(True, 1.0)
    assert arb.intervention(1.2)
    assert arb.human("arm", {"j": 4.0}, 1.2) == {"j": 4.0}
    assert arb.policy("arm", {"j": 0.0}, 1.3) is None
    # Engaged lapses at 1.5: the policy is back, blended from the human's 4.0 towards its 0.0.
    assert not arb.intervention(1.6)
    first = arb.policy("arm", {"j": 0.0}, 1.6)["j"]
    later = arb.policy("arm", {"j": 0.0}, 2.1)["j"]
    assert 3.0 < first <= 4.0 and 1.0 < later < 3.0
    assert arb.policy("arm", {"j": 0.0}, 2.7) == {"j": 0.0}


def test_disengage_is_immediate():
    arb = Arbiter("shared")
    arb.engaged(True, 0.0)
    arb.engaged(False, 0.1)
    assert not arb.intervention(0.1)


def test_unknown_mode():
    with pytest.raises(ValueError, match="teleop, shared"):
        Arbiter("auto")
