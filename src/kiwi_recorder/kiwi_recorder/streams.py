"""Whether the streams an episode needs are flowing, from when each was subscribed and last heard:
the recorder's start asks this (pure, so its rules are unit-tested without DDS)."""

from __future__ import annotations

import math

# Seconds without a message after which a stream counts as silent (they run at 10-30 Hz).
STREAM_SILENCE_S = 1.0
# Seconds a new subscription may take to receive: Fast DDS resends a lost announcement every 3 s.
DISCOVERY_GRACE_S = 5.0
NEVER = -math.inf  # the last-heard time of a stream with no message yet
# What a start that goes ahead says of its pending streams (clients look for it).
NOT_YET_RECEIVED = "nothing received yet"


def stream_check(
    streams: list[str], subscribed_at: dict[str, float], last_heard: dict[str, float], now: float
) -> tuple[list[str], list[str]]:
    """(pending, silent) among `streams`, as of `now` (monotonic seconds). Pending: never heard and
    subscribed under DISCOVERY_GRACE_S ago, so discovery may still be on its way (a subscription
    made after `now` counts as new). Silent: any other stream quiet for over STREAM_SILENCE_S."""
    pending, silent = [], []
    for topic in streams:
        if now - last_heard[topic] <= STREAM_SILENCE_S:
            continue
        young = now - subscribed_at[topic] < DISCOVERY_GRACE_S
        (pending if last_heard[topic] == NEVER and young else silent).append(topic)
    return pending, silent
