"""The recorder's start rule for the streams an episode needs: flowing, pending or silent."""

from kiwi_recorder.streams import DISCOVERY_GRACE_S, NEVER, STREAM_SILENCE_S, stream_check

NOW = 100.0


def check(subscribed_ago: float, heard_ago: float | None):
    last = NEVER if heard_ago is None else NOW - heard_ago
    return stream_check(["/s"], {"/s": NOW - subscribed_ago}, {"/s": last}, NOW)


def test_a_flowing_stream_is_neither_pending_nor_silent():
    assert check(60.0, 0.03) == ([], [])
    assert check(60.0, STREAM_SILENCE_S) == ([], [])


def test_a_new_subscription_never_heard_is_pending_until_the_grace_ends():
    assert check(0.5, None) == (["/s"], [])
    assert check(-0.2, None) == (["/s"], [])  # subscribed during the call that asks
    assert check(DISCOVERY_GRACE_S + 0.1, None) == ([], ["/s"])


def test_a_stream_heard_once_and_then_quiet_is_silent_even_when_new():
    assert check(2.0, STREAM_SILENCE_S + 0.2) == ([], ["/s"])


def test_streams_are_judged_each_on_its_own():
    pending, silent = stream_check(
        ["/a", "/b", "/c"],
        {"/a": NOW - 60, "/b": NOW - 1, "/c": NOW - 60},
        {"/a": NOW - 0.01, "/b": NEVER, "/c": NOW - 3},
        NOW,
    )
    assert (pending, silent) == (["/b"], ["/c"])
