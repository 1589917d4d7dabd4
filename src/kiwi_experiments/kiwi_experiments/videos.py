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


def beside_cameras(view: np.ndarray, cameras: dict[str, np.ndarray]) -> np.ndarray:
    """`view` with a column on its right of each camera image as the policy received it, stacked
    in `cameras`' order below the label band and scaled up by repeating pixels (what the policy
    saw, not a smoothed version). No cameras: `view` itself."""
    from PIL import Image, ImageDraw

    if not cameras:
        return view
    height = view.shape[0]
    cell_h = (height - LABEL_ROWS) // len(cameras) // 2 * 2  # even sides for H.264
    first = next(iter(cameras.values()))
    cell_w = round(cell_h * first.shape[1] / first.shape[0] / 2) * 2
    column = np.zeros((height, cell_w, 3), np.uint8)
    for k, (name, pixels) in enumerate(cameras.items()):
        cell = Image.fromarray(np.asarray(pixels, np.uint8)).resize((cell_w, cell_h), Image.NEAREST)
        ImageDraw.Draw(cell).text((3, cell_h - 13), name, fill=(255, 255, 255))
        top = LABEL_ROWS + k * cell_h
        column[top : top + cell_h] = np.asarray(cell)
    return np.concatenate([np.asarray(view, np.uint8), column], axis=1)


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
