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
