"""The camera node over DDS, with a video file standing in for the V4L2 device."""

import sys

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.integration


def write_video(path, frames=20, size=(64, 48)):
    """An MJPG AVI whose frames have a blue square in the top-left corner (BGR)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    assert writer.isOpened()
    for _ in range(frames):
        frame = np.full((size[1], size[0], 3), 40, np.uint8)
        frame[:12, :12] = (255, 0, 0)
        writer.write(frame)
    writer.release()


def test_camera_streams_a_file_rotated_and_reconnects(tmp_path, start_nodes, ros_probe):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    from kiwi_common.images import from_compressed, from_image

    video = tmp_path / "wrist.avi"
    start_nodes(
        [
            sys.executable,
            "-m",
            "kiwi_driver.camera_node",
            "--ros-args",
            "-r",
            "__ns:=/camera/wrist",
            "-p",
            "camera:=wrist",
            "-p",
            f"device:={video}",
            "-p",
            "width:=48",
            "-p",
            "height:=64",
            "-p",
            "rotation:=90",
            "-p",
            "fps:=30.0",
            "-p",
            "reconnect_period:=0.2",
        ]
    )
    node = ros_probe.node
    images, jpegs, infos, diags = [], [], [], []
    node.create_subscription(Image, "/camera/wrist/image_raw", images.append, qos_profile_sensor_data)
    node.create_subscription(
        CompressedImage, "/camera/wrist/image_raw/compressed", jpegs.append, qos_profile_sensor_data
    )
    node.create_subscription(CameraInfo, "/camera/wrist/camera_info", infos.append, qos_profile_sensor_data)
    node.create_subscription(
        DiagnosticArray, "/camera/wrist/diagnostics", lambda m: diags.extend(m.status), 10
    )

    # The device is missing: the node says so and keeps trying.
    assert ros_probe.spin_until(lambda: diags, 30), "no diagnostics from the camera node"
    assert diags[-1].level == b"\x02" and "cannot open" in diags[-1].message
    assert not images

    write_video(video)  # the device appears
    assert ros_probe.spin_until(lambda: len(images) >= 25 and jpegs and infos, 20), (
        f"{len(images)} images after the file appeared"
    )
    rgb = from_image(images[-1])
    assert rgb.shape == (64, 48, 3) and images[-1].header.frame_id == "wrist_camera_optical_frame"
    # Rotated 90 degrees clockwise: the blue top-left corner is now top-right, and RGB.
    assert rgb[2, -3, 2] > 200 and rgb[2, -3, 0] < 60 and rgb[-3, 2, 2] < 100
    assert from_compressed(jpegs[-1]).shape == (64, 48, 3)
    assert (infos[-1].width, infos[-1].height) == (48, 64)
    # 20 frames per file: more than 20 images means it reached the end, reported it and reopened.
    diags.clear()
    assert ros_probe.spin_until(
        lambda: any(int(dict((v.key, v.value) for v in d.values)["reconnects"]) >= 2 for d in diags), 10
    )
