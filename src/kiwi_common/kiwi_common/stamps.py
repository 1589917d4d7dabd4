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
