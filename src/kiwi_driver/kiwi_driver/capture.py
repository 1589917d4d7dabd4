"""Pure helpers of the camera node: device names, LeRobot's rotation convention, frame shaping."""

from __future__ import annotations

import cv2
import numpy as np

# LeRobot's Cv2Rotation values (degrees, clockwise) -> OpenCV rotate codes.
ROTATIONS = {
    0: None,
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    -90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def parse_device(device: str) -> int | str:
    """'0' -> 0 (a V4L2 index, as LeRobot's `index_or_path`); anything else is a path or URL."""
    text = device.strip()
    if not text:
        raise ValueError("camera device is empty; give an index (0) or a path (/dev/video0, a video file)")
    return int(text) if text.isdigit() else text


def check_rotation(rotation: int) -> int:
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {sorted(ROTATIONS)} degrees, got {rotation}")
    return rotation


def capture_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """The (width, height) to open the device at, so that after rotation the frame is width x height.

    As in LeRobot: width and height are the output size after rotation, so a 90 degree camera is
    opened with the two swapped.
    """
    return (height, width) if abs(check_rotation(rotation)) % 180 == 90 else (width, height)


def shape_frame(bgr: np.ndarray, width: int, height: int, rotation: int) -> tuple[np.ndarray, bool]:
    """A captured BGR frame -> RGB, rotated, at width x height; also whether it had to be resized."""
    code = ROTATIONS[check_rotation(rotation)]
    frame = bgr if code is None else cv2.rotate(bgr, code)
    resized = frame.shape[:2] != (height, width)
    if resized:
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), resized
