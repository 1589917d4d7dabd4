"""The converter's camera encoder (YUV through OpenCV) against what LeRobot's own would give."""

import queue
import threading

import av
import numpy as np
import pytest
from lerobot.datasets.video_utils import _CameraEncoderThread

from kiwi_recorder.video import KIWI_VIDEO, STATS_EVERY, _YuvEncoderThread


def _frames(n: int, height: int = 96, width: int = 128) -> list[np.ndarray]:
    """Smooth moving colour gradients (video-like: what H.264 is made for)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    return [
        np.stack(
            [
                127 + 100 * np.sin((xx + 3 * k) / 17.0),
                127 + 100 * np.cos((yy - 2 * k) / 13.0),
                np.full_like(xx, 80.0),
            ],
            axis=-1,
        ).astype(np.uint8)
        for k in range(n)
    ]


def _encode(tmp_path, frames, thread_class=_YuvEncoderThread):
    frame_queue, result_queue = queue.Queue(), queue.Queue()
    path = tmp_path / f"{thread_class.__name__}.mp4"
    encoder = KIWI_VIDEO.encoder()
    thread = thread_class(path, 30, encoder, frame_queue, result_queue, threading.Event(), 1)
    thread.start()
    for frame in frames:
        frame_queue.put(frame)
    frame_queue.put(None)
    thread.join(timeout=60)
    return path, result_queue.get_nowait()


def _psnr(path, frames) -> float:
    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == len(frames)
    mse = np.mean([(d.astype(float) - f) ** 2 for d, f in zip(decoded, frames)])
    return float(10 * np.log10(255.0**2 / mse))


def test_every_frame_is_encoded_as_well_as_by_lerobot(tmp_path):
    frames = _frames(25)
    path, (status, stats) = _encode(tmp_path, frames)
    assert status == "ok"
    lerobot_path, _ = _encode(tmp_path, frames, _CameraEncoderThread)
    # A wrong colour matrix or channel order would cost far more than a dB.
    assert _psnr(path, frames) > _psnr(lerobot_path, frames) - 1.5
    # Statistics from the sampled frames (0, 1, 10, 20) are close to those of all frames.
    sampled = [f for k, f in enumerate(frames) if k % STATS_EVERY == 0 or k == 1]
    assert len(sampled) == 4
    everything = np.concatenate([f.reshape(-1, 3) for f in frames]).astype(float)
    assert stats["mean"].shape == (3,)
    np.testing.assert_allclose(stats["mean"], everything.mean(axis=0), atol=6.0)


def test_a_bad_frame_is_reported_not_swallowed(tmp_path):
    frames = _frames(3)
    frames.insert(2, np.zeros((10, 10), np.uint8))  # not an RGB image
    _, (status, message) = _encode(tmp_path, frames)
    assert status == "error" and message


@pytest.mark.parametrize("n", [2, 3])
def test_short_episodes_still_get_statistics(tmp_path, n):
    _, (status, stats) = _encode(tmp_path, _frames(n))
    assert status == "ok" and stats is not None and stats["count"][0] >= 2
