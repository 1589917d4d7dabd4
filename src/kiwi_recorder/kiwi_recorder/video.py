"""How the converter turns camera frames into a LeRobot dataset's videos.

Kiwi's default streams each frame to an H.264 encoder thread as it is added (LeRobot's
`streaming_encoding`), so no PNG file is written and read back; LeRobot's own defaults (AV1 through
libsvtav1, PNG files first, encoded at the end of each episode) remain one option away, for
comparison and for the smallest files. Either way the dataset is a normal LeRobot v3 dataset.
Imports LeRobot: only `kiwi convert` needs this module.
"""

from __future__ import annotations

import contextlib
import queue
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from unittest import mock

import av
import cv2
from lerobot.configs.video import RGBEncoderConfig
from lerobot.datasets import compute_stats, video_utils
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
    the data. This one waits for room (and still reports an encoder thread that died), and its
    cameras are encoded by `_YuvEncoderThread`."""

    def start_episode(self, video_keys, temp_dir, depth_video_keys=None) -> None:
        with mock.patch.object(video_utils, "_CameraEncoderThread", _YuvEncoderThread):
            super().start_episode(video_keys, temp_dir, depth_video_keys)

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
# for the same statistics (`compute_stats.sample_indices`: about 275 of 1800); so do we, 1 in 10.
STATS_EVERY = 10


class _YuvEncoderThread(_CameraEncoderThread):
    """One camera's encoder, as LeRobot's (same container, codec options, pts, result protocol),
    with two costs removed: LeRobot hands each RGB frame to the codec through PIL and libswscale
    (1.7 ms a 640x480 frame here), OpenCV converts it to YUV 4:2:0 in 0.2 ms with the same BT.601
    limited-range matrix; and image statistics come from 1 frame in STATS_EVERY (and the second,
    so that a short episode has two). Depth maps and other pixel formats go LeRobot's way."""

    def run(self) -> None:
        if self.is_depth or self.video_encoder.pix_fmt != "yuv420p":
            return super().run()
        container = stream = None
        stats, count = compute_stats.RunningQuantileStats(), 0
        try:
            while True:
                try:
                    frame = self.frame_queue.get(timeout=1)
                except queue.Empty:
                    if self.stop_event.is_set():
                        break
                    continue
                if frame is None:  # LeRobot's sentinel: flush and close
                    break
                if container is None:
                    container, stream = self._open(*frame.shape[:2])
                video_frame = av.VideoFrame.from_ndarray(
                    cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420), format="yuv420p"
                )
                video_frame.pts, video_frame.time_base = count, Fraction(1, self.fps)
                container.mux(stream.encode(video_frame))
                if count % STATS_EVERY == 0 or count == 1:
                    small = compute_stats.auto_downsample_height_width(frame.transpose(2, 0, 1))
                    stats.update(small.transpose(1, 2, 0).reshape(-1, small.shape[0]))
                count += 1
            if container is not None:
                container.mux(stream.encode())
                container.close()
            self.result_queue.put(("ok", stats.get_statistics() if count >= 2 else None))
        except Exception as exc:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()
            self.result_queue.put(("error", str(exc)))

    def _open(self, height: int, width: int):
        Path(self.video_path).parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.video_path), "w")
        options = self.video_encoder.get_codec_options(self.encoder_threads, as_strings=True)
        stream = container.add_stream(self.video_encoder.vcodec, self.fps, options=options)
        stream.pix_fmt, stream.width, stream.height = "yuv420p", width, height
        stream.time_base = Fraction(1, self.fps)
        return container, stream


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
