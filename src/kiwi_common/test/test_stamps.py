import pytest

from kiwi_common.stamps import time_msg


@pytest.mark.parametrize(
    "seconds, sec, nanosec",
    [
        (0.0, 0, 0),
        (1.5, 1, 500_000_000),
        (7.9999999999, 8, 0),
        (12.000000001, 12, 1),
    ],
)
def test_time_msg_carries_into_seconds(seconds, sec, nanosec):
    t = time_msg(seconds)
    assert (t.sec, t.nanosec) == (sec, nanosec)


def test_stale_inputs_name_old_topics_and_a_clock_mismatch():
    from kiwi_common.stamps import stale_inputs

    assert stale_inputs({"joint_states": 0.1, "camera": -0.01}, 0.25) == ""
    assert stale_inputs({"joint_states": 0.3, "camera": 0.1}, 0.25) == "joint_states is 0.30 s old"
    # The policy on wall time, the sim's stamps on sim time: decades old; and the other way round.
    behind = stale_inputs({"joint_states": 1.7e9}, 0.25)
    assert behind.startswith("joint_states is") and "use_sim_time:=true" in behind
    ahead = stale_inputs({"joint_states": -1.7e9}, 0.25)
    assert ahead.startswith("joint_states is") and "use_sim_time:=false" in ahead
