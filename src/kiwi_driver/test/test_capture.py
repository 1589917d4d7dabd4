import numpy as np
import pytest

from kiwi_driver.capture import capture_size, parse_device, shape_frame


def test_parse_device():
    assert parse_device("0") == 0 and parse_device(" 2 ") == 2
    assert parse_device("/dev/video2") == "/dev/video2"
    with pytest.raises(ValueError, match="empty"):
        parse_device(" ")


def test_capture_size_swaps_for_quarter_turns():
    # LeRobot's wrist camera: 480x640 after ROTATE_90, so it is opened at 640x480.
    assert capture_size(480, 640, 90) == (640, 480)
    assert capture_size(480, 640, -90) == (640, 480)
    assert capture_size(640, 480, 180) == (640, 480)
    with pytest.raises(ValueError, match="rotation"):
        capture_size(640, 480, 45)


def _marked_bgr(h=4, w=6):
    bgr = np.zeros((h, w, 3), np.uint8)
    bgr[0, 0] = (255, 0, 0)  # blue in BGR at the top-left corner
    return bgr


def test_shape_frame_rotates_clockwise_and_converts_to_rgb():
    rgb, resized = shape_frame(_marked_bgr(), width=4, height=6, rotation=90)
    assert rgb.shape == (6, 4, 3) and not resized
    assert tuple(rgb[0, -1]) == (0, 0, 255)  # top-left -> top-right after a clockwise turn, now RGB
    rgb, _ = shape_frame(_marked_bgr(), width=6, height=4, rotation=180)
    assert tuple(rgb[-1, -1]) == (0, 0, 255)
    rgb, _ = shape_frame(_marked_bgr(), width=4, height=6, rotation=-90)
    assert tuple(rgb[-1, 0]) == (0, 0, 255)


def test_shape_frame_resizes_a_wrong_size_and_says_so():
    rgb, resized = shape_frame(np.zeros((10, 20, 3), np.uint8), width=6, height=4, rotation=0)
    assert rgb.shape == (4, 6, 3) and resized
