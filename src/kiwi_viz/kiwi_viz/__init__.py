"""Kiwi in Rerun: the robot's cameras, a top-down map and its signals, live or from a recording."""
