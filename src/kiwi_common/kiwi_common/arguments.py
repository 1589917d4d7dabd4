"""Argument types the `kiwi` commands share (argparse exits 2 naming the option and the value)."""

from __future__ import annotations

import argparse
import math


def number_in(kind, low, high=math.inf):
    """An argparse type: a `kind` number in [low, high] (a finite one)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not (low <= value <= high) or not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {low:g} to {high:g}, got {text!r}")
        return value

    return parse
