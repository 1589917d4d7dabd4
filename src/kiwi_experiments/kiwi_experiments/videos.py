"""Rollout videos for the demo report: frames labelled with what happened, encoded as H.264 MP4
(small, and any browser plays it)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import numpy as np

CRF = 28  # quality: a top-down view of flat colours stays clear at a few hundred kB a minute
LABEL_ROWS = 16


def labelled(frame: np.ndarray, text: str) -> np.ndarray:
    """`frame` with `text` on a dark band along its top LABEL_ROWS rows."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.asarray(frame, np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width - 1, LABEL_ROWS - 1), fill=(20, 20, 20))  # corners inclusive
    draw.text((4, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def episode_label(episode) -> str:
    """The layout and its outcome under strict success (held up for 1 s, done `seconds` in)."""
    outcome = f"held up, done at {episode.seconds:.1f} s" if episode.success else "not held up"
    return f"layout {episode.seed}: {outcome}{', hit the obstacle' if episode.collision else ''}"


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """RGB frames (all one size, even sides), streamed to an H.264 MP4 at `fps`."""
    import av

    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"no frames for {path}")
    height, width = first.shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(CRF), "preset": "veryfast"}
        for frame in itertools.chain([first], frames):
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.asarray(frame, np.uint8), format="rgb24"))
            )
        container.mux(stream.encode())
    partial.rename(path)  # a run stopped mid-way leaves no video that looks finished
    return path
