"""`camera`: one V4L2 (OpenCV) camera -> Image + CompressedImage + CameraInfo, sensor-data QoS.

Topics are relative (`image_raw`, `image_raw/compressed`, `camera_info`): the graphs start one node
per camera in the namespace `/camera/<name>`. Settings follow LeRobot's LeKiwi camera config
(`index_or_path`, `fourcc`, `fps`, width x height after rotation, rotation 0/90/180/-90).

Capture runs on its own thread (a V4L2 read blocks for a frame period). When the device cannot be
opened or stops giving frames (unplugged, end of a video file) the node reports it on
`/diagnostics`, releases it and tries again every `reconnect_period` seconds; it never exits for it.
"""

from __future__ import annotations

import sys
import threading
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node

from kiwi_common.diagnostics import Diagnostic, diagnostic_array
from kiwi_common.images import CameraPublisher
from kiwi_common.node_interface import NodeInterface, Param, Topic, camera_topics, declare_params, run_node
from kiwi_description import constants as c

from .capture import capture_size, check_rotation, parse_device, shape_frame

INTERFACE = NodeInterface(
    params=(
        Param("camera", "front", "Camera name: sets the frame id and the default field of view."),
        Param("frame_prefix", "", "Prefix of the frame id (e.g. 'robot1/'), as robot_state_publisher's."),
        Param("device", "/dev/video0", "V4L2 index (0), device path, or a video file."),
        Param("fourcc", "MJPG", "Pixel format asked of the device; empty leaves the driver's default."),
        Param("width", c.CAMERAS["front"].width, "Image width after rotation."),
        Param("height", c.CAMERAS["front"].height, "Image height after rotation."),
        Param("fps", c.CAMERAS["front"].fps, "Frame rate asked of the device; frames are also paced to it."),
        Param(
            "rotation",
            c.CAMERAS["front"].rotation_deg,
            "Clockwise rotation in degrees: 0, 90, 180 or -90 (LeRobot's Cv2Rotation).",
        ),
        Param("fovy_deg", 0.0, "Vertical field of view for CameraInfo; 0 takes the camera's default."),
        Param("jpeg_quality", 90, "JPEG quality of the compressed image."),
        Param("reconnect_period", 1.0, "Seconds between attempts to reopen a missing device."),
    ),
    publishes=camera_topics() + (Topic("diagnostics", "diagnostic_msgs/msg/DiagnosticArray"),),
)


class CameraNode(Node):
    def __init__(self) -> None:
        super().__init__("camera")
        p = self.p = declare_params(self, INTERFACE)
        self.device = parse_device(str(p.device))
        check_rotation(p.rotation)
        if p.width <= 0 or p.height <= 0 or p.fps <= 0:
            raise ValueError(f"width, height and fps must be positive, got {p.width}x{p.height} @ {p.fps}")
        spec = c.CAMERAS.get(p.camera)
        fovy = p.fovy_deg or (spec.fovy_deg if spec else 60.0)
        self.images = CameraPublisher(
            self, "", f"{p.frame_prefix}{p.camera}_camera_optical_frame", fovy, p.jpeg_quality
        )
        self.diag_pub = self.create_publisher(DiagnosticArray, "diagnostics", 10)
        self.status = "starting"
        self.connected = False
        self.frames = 0
        self.reconnects = 0
        self.resized = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._capture_loop, name="capture", daemon=True)
        self.thread.start()
        self.create_timer(1.0, self._publish_diagnostics)

    def _open(self):
        p = self.p
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2 if isinstance(self.device, int) else cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            return None
        if p.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*p.fourcc))
        w, h = capture_size(p.width, p.height, p.rotation)
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, p.fps)
        return cap

    def _capture_loop(self) -> None:
        period = 1.0 / self.p.fps
        while not self.stopping.is_set():
            cap = self._open()
            if cap is None:
                self._lost(f"cannot open {self.device!r}")
                continue
            self.connected, self.status = True, f"streaming from {self.device!r}"
            next_frame = time.monotonic()
            while not self.stopping.is_set():
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    break
                self._publish(bgr)
                # A device blocks for a frame period; a file would be read as fast as it decodes.
                next_frame += period
                delay = next_frame - time.monotonic()
                if delay > 0:
                    self.stopping.wait(delay)
                else:
                    next_frame = time.monotonic()
            cap.release()
            if not self.stopping.is_set():
                self._lost(f"{self.device!r} stopped giving frames")

    def _lost(self, why: str) -> None:
        self.connected = False
        self.status = f"{why}; retrying every {self.p.reconnect_period:g} s"
        self.reconnects += 1
        self.get_logger().error(self.status, throttle_duration_sec=5.0)
        self.stopping.wait(self.p.reconnect_period)

    def _publish(self, bgr) -> None:
        p = self.p
        rgb, resized = shape_frame(bgr, p.width, p.height, p.rotation)
        if resized and not self.resized:
            self.resized = True
            self.get_logger().warning(
                f"{self.device!r} gives {bgr.shape[1]}x{bgr.shape[0]} frames, not the "
                f"requested size: resizing to {p.width}x{p.height}"
            )
        self.images.publish(rgb, self.get_clock().now().to_msg())
        self.frames += 1

    def _publish_diagnostics(self) -> None:
        level = 0 if self.connected and not self.resized else (1 if self.connected else 2)
        status = Diagnostic(
            level,
            self.p.camera,
            self.status,
            {"frames": str(self.frames), "reconnects": str(self.reconnects), "resized": str(self.resized)},
            str(self.device),
        )
        self.diag_pub.publish(diagnostic_array("camera", [status], self.get_clock().now().to_msg()))

    def shutdown(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2.0)


def main(args=None) -> int:
    return run_node(CameraNode, "camera", args)


if __name__ == "__main__":
    sys.exit(main())
