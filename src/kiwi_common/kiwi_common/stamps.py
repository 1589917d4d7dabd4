"""Seconds <-> builtin_interfaces Time and Duration, with the nanosecond carry done once."""

from __future__ import annotations


def _split(seconds: float) -> tuple[int, int]:
    sec, nanosec = divmod(round(seconds * 1e9), 1_000_000_000)
    return int(sec), int(nanosec)


def time_msg(seconds: float):
    from builtin_interfaces.msg import Time

    sec, nanosec = _split(seconds)
    return Time(sec=sec, nanosec=nanosec)


def duration_msg(seconds: float):
    from builtin_interfaces.msg import Duration

    sec, nanosec = _split(seconds)
    return Duration(sec=sec, nanosec=nanosec)


def stamp_seconds(stamp) -> float:
    """A Time (or Duration) as float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


# Stamps this far from the reader's clock come from another clock, not from a slow link: one side
# runs on sim time (/clock from the sim) and the other on wall time.
CLOCK_MISMATCH_S = 3600.0


def stale_inputs(ages: dict[str, float], max_age: float) -> str:
    """Why observations with these ages (reader's now - stamp, by topic) cannot be used, or ''.
    Ages hours off either way name the likely cause, a clock mismatch, and its fix."""
    bad = {t: a for t, a in ages.items() if a > max_age or a < -CLOCK_MISMATCH_S}
    why = ", ".join(f"{t} is {a:.2f} s old" for t, a in bad.items())
    if any(a > CLOCK_MISMATCH_S for a in bad.values()):  # this node on wall time, the stamps sim time
        why += (
            " (the stamps are hours behind this node's clock: the robot side runs on sim time; "
            "with the sim as the robot, start the policy with use_sim_time:=true)"
        )
    elif any(a < -CLOCK_MISMATCH_S for a in bad.values()):  # this node on sim time, the stamps wall time
        why += (
            " (the stamps are hours ahead of this node's clock: this node runs on sim time and no "
            "sim publishes /clock; with a real robot, start the policy with use_sim_time:=false)"
        )
    return why
