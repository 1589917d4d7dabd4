"""How the converter turns camera frames into a LeRobot dataset's videos.

Kiwi's default streams each frame to an H.264 encoder thread as it is added (LeRobot's
`streaming_encoding`), so no PNG file is written and read back; LeRobot's own defaults (AV1 through
libsvtav1, PNG files first, encoded at the end of each episode) remain one option away, for
comparison and for the smallest files. Either way the dataset is a normal LeRobot v3 dataset.
Imports LeRobot: only `kiwi convert` needs this module.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from lerobot.configs.video import RGBEncoderConfig
from lerobot.datasets import compute_stats
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.datasets.video_utils import StreamingVideoEncoder, _CameraEncoderThread

CODECS = ("h264", "hevc", "libsvtav1")


@dataclass(frozen=True)
class VideoSettings:
    vcodec: str = "h264"
    preset: str | int | None = "ultrafast"  # codec-specific; None: LeRobot's default for the codec
    crf: int | None = None  # None: LeRobot's default (30)
    streaming: bool = True  # frames to the encoder as they are added, not PNG files first

    def encoder(self) -> RGBEncoderConfig:
        options = {"vcodec": self.vcodec, "preset": self.preset, "crf": self.crf}
        return RGBEncoderConfig(**{k: v for k, v in options.items() if v is not None})

    def describe(self) -> str:
        encoder = self.encoder()
        path = "streamed" if self.streaming else "PNG files first"
        return f"{encoder.vcodec} preset {encoder.preset} crf {encoder.crf}, {path}"


KIWI_VIDEO = VideoSettings()
# LeRobot 0.6.1's writer as `LeRobotDataset.create` sets it up by default.
LEROBOT_VIDEO = VideoSettings(vcodec="libsvtav1", preset=None, streaming=False)


class _LosslessStreamingEncoder(StreamingVideoEncoder):
    """LeRobot's streaming encoder drops a frame its queue has no room for within 0.1 s: right
    for a live robot, wrong for a conversion, where a dropped frame would shift the video against
    the data. This one waits for room (and still reports an encoder thread that died)."""

    def feed_frame(self, video_key, image) -> None:
        while True:
            try:
                self._frame_queues[video_key].put(image, timeout=1.0)  # the converter's own array
                return
            except queue.Full:
                if not self._threads[video_key].is_alive():
                    super().feed_frame(video_key, image)  # raises with the thread's error


# LeRobot's streaming encoder threads update image statistics (5000-bin histograms per channel)
# from every frame: about 4 ms a frame here, as much as the encoding. Its batch path samples frames
# for the same statistics (`compute_stats.sample_indices`: about 275 of 1800); so do we, 1 in 5.
STATS_EVERY = 10


class _SampledStats(compute_stats.RunningQuantileStats):
    """In an encoder thread, statistics from every STATS_EVERY-th frame; elsewhere unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._offered = 0
        self._sampled = isinstance(threading.current_thread(), _CameraEncoderThread)

    def update(self, batch) -> None:
        self._offered += 1
        if not self._sampled or (self._offered - 1) % STATS_EVERY == 0:
            super().update(batch)


@contextmanager
def sampled_video_stats():
    with mock.patch.object(compute_stats, "RunningQuantileStats", _SampledStats):
        yield


class ConverterDataset(LeRobotDataset):
    @staticmethod
    def _build_streaming_encoder(fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads):
        return _LosslessStreamingEncoder(
            fps, rgb_encoder, depth_encoder, encoder_queue_maxsize, encoder_threads
        )


def create_dataset(
    root, repo_id: str, fps: int, features: dict, robot_type: str, use_videos: bool, video: VideoSettings
) -> LeRobotDataset:
    return ConverterDataset.create(
        repo_id,
        fps,
        features,
        root=root,
        robot_type=robot_type,
        use_videos=use_videos,
        rgb_encoder=video.encoder() if use_videos else None,
        streaming_encoding=use_videos and video.streaming,
        encoder_queue_maxsize=2 * fps,
        encoder_threads=1,
    )


@contextmanager
def encoder_output_hidden(hidden: bool):
    """Keep what encoders print straight to the process's stderr (SVT-AV1's banners, libav's notes)
    out of the terminal; yields a stream on the real stderr for progress bars. On an error the
    hidden lines are shown."""
    if not hidden:
        yield sys.stderr
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink, os.fdopen(os.dup(saved), "w") as terminal:
        os.dup2(sink.fileno(), 2)
        try:
            yield terminal
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            tail = sink.read()[-4000:].decode(errors="replace")
            if tail.strip():
                print(f"encoder output:\n{tail}", file=sys.stderr)
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
