"""numpy <-> sensor_msgs Image / CompressedImage, without cv_bridge (not on PyPI).

Messages are built through their constructors from bytes: assigning a large array to `.data`
after construction is orders of magnitude slower in rclpy.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from kiwi_common.node_interface import camera_topics

_CHANNELS = {"rgb8": 3, "bgr8": 3, "mono8": 1}


def to_image(rgb: np.ndarray, stamp, frame_id: str) -> Image:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    h, w, _ = rgb.shape
    img = Image(
        height=h,
        width=w,
        encoding="rgb8",
        is_bigendian=0,
        step=w * 3,
        data=np.ascontiguousarray(rgb).tobytes(),
    )
    img.header.stamp = stamp
    img.header.frame_id = frame_id
    return img


def from_image(msg: Image) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) from rgb8, bgr8 or mono8 images."""
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise ValueError(
            f"unsupported image encoding {msg.encoding!r}; expected one of {', '.join(_CHANNELS)}"
        )
    if msg.step < msg.width * channels or len(msg.data) < msg.step * msg.height:
        raise ValueError(
            f"image data ({len(msg.data)} bytes, step {msg.step}) too short for "
            f"{msg.width}x{msg.height} {msg.encoding}"
        )
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    pixels = rows[:, : msg.width * channels].reshape(msg.height, msg.width, channels)
    if msg.encoding == "bgr8":
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if msg.encoding == "mono8":
        return np.repeat(pixels, 3, axis=2)
    return pixels.copy()


def to_compressed(rgb: np.ndarray, stamp, frame_id: str, quality: int = 90) -> CompressedImage:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    msg = CompressedImage(format="rgb8; jpeg compressed bgr8", data=buf.tobytes())
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    return msg


def from_compressed(msg: CompressedImage) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(bytes(msg.data), dtype=np.uint8), cv2.IMREAD_COLOR)
    if arr is None:
        raise ValueError(f"could not decode the compressed image ({msg.format!r}, {len(msg.data)} bytes)")
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)  # a third of the time of a reversed-slice copy


def decode_image(msg, shape: tuple[int, int]) -> np.ndarray:
    """An Image or CompressedImage -> RGB (H, W, 3) uint8 at `shape` (H, W), resized if needed
    (area interpolation: the same for recorded frames and live policy inputs)."""
    return resize_image(from_compressed(msg) if hasattr(msg, "format") else from_image(msg), shape)


def resize_image(rgb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """RGB at `shape` (H, W): area interpolation, as for every image a policy sees."""
    if rgb.shape[:2] != tuple(shape):
        rgb = cv2.resize(rgb, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return rgb


def parse_image_size(text: str) -> tuple[int, int]:
    """ "HEIGHTxWIDTH" (e.g. "96x128") -> (height, width); ValueError naming the form otherwise."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected HEIGHTxWIDTH, e.g. 96x128, got {text!r}") from None
    if not (0 < height <= 4096 and 0 < width <= 4096):
        raise ValueError(f"expected 1..4096 pixels each way, got {text!r}")
    return height, width


def render_size(native: tuple[int, int], shape: tuple[int, int] | None) -> tuple[int, int]:
    """The (width, height) a sim camera of `native` (width, height) renders at for a policy that
    sees `shape` (H, W): the smallest size of the camera's own aspect that covers `shape` (never
    above native). `resize_image` then brings it to `shape` as it brings a real camera's frame,
    squeezing a portrait wrist image the same way, at a fraction of a full-size render's cost."""
    width, height = native
    if shape is None:
        return width, height
    scale = min(1.0, max(shape[0] / height, shape[1] / width))
    return max(1, math.ceil(width * scale - 1e-9)), max(1, math.ceil(height * scale - 1e-9))


def camera_info(width: int, height: int, fovy_deg: float, stamp, frame_id: str) -> CameraInfo:
    """Pinhole intrinsics of an ideal camera with the given vertical field of view."""
    fy = height / (2.0 * np.tan(np.radians(fovy_deg) / 2.0))
    fx = fy  # square pixels
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    info = CameraInfo(
        width=width,
        height=height,
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=[fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
        r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        p=[fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    )
    info.header.stamp = stamp
    info.header.frame_id = frame_id
    return info


class CameraPublisher:
    """Image, JPEG and CameraInfo of one camera, with sensor-data QoS (sim driver and camera node)."""

    def __init__(self, node, prefix: str, frame_id: str, fovy_deg: float, jpeg_quality: int):
        from rclpy.qos import qos_profile_sensor_data

        self.raw, self.jpeg, self.info = (
            node.create_publisher(cls, prefix + topic.name, qos_profile_sensor_data)
            for cls, topic in zip((Image, CompressedImage, CameraInfo), camera_topics())
        )
        self.frame_id, self.fovy_deg, self.jpeg_quality = frame_id, fovy_deg, jpeg_quality

    def wanted(self) -> bool:
        """Whether anyone subscribes to any of the streams (else producing a frame is wasted work)."""
        return any(pub.get_subscription_count() for pub in (self.raw, self.jpeg, self.info))

    def publish(self, rgb: np.ndarray, stamp) -> None:
        """The streams someone subscribes to (a JPEG nobody reads is not encoded)."""
        height, width, _ = rgb.shape
        if self.raw.get_subscription_count():
            self.raw.publish(to_image(rgb, stamp, self.frame_id))
        if self.jpeg.get_subscription_count():
            self.jpeg.publish(to_compressed(rgb, stamp, self.frame_id, self.jpeg_quality))
        if self.info.get_subscription_count():
            self.info.publish(camera_info(width, height, self.fovy_deg, stamp, self.frame_id))
