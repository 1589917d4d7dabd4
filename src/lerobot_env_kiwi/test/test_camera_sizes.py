"""Cameras at the policy's size: the env's images are, pixel for pixel, the sim driver's frames
(rendered with `image_size`) as the policy node and the converter decode them; and a real
camera's full-size frame goes through the same resize."""

import time
from types import SimpleNamespace

import numpy as np
import pytest
from lerobot_env_kiwi.env import KiwiPickEnv

from kiwi_common.images import decode_image, parse_image_size, render_size, resize_image, to_image

SHAPE = (48, 64)
CAMERAS = ("front", "wrist")


@pytest.mark.parametrize(
    ("native", "shape", "size"),
    [
        ((640, 480), (96, 128), (128, 96)),  # the front camera: its own aspect, no resize left
        ((480, 640), (96, 128), (128, 171)),  # the portrait wrist: covers 96x128, then squeezed
        ((640, 480), (96, 96), (128, 96)),
        ((640, 480), (960, 1280), (640, 480)),  # never above the camera's own size
        ((640, 480), None, (640, 480)),
    ],
)
def test_render_size_keeps_the_cameras_aspect_and_covers_the_policys_size(native, shape, size):
    assert render_size(native, shape) == size


@pytest.mark.parametrize("text", ["96", "96x", "0x128", "96x128x3", "axb", "5000x10"])
def test_image_sizes_are_height_x_width(text):
    assert parse_image_size("96X128") == (96, 128)
    with pytest.raises(ValueError, match="expected"):
        parse_image_size(text)


def test_the_envs_images_are_the_drivers_frames_as_the_policy_node_decodes_them(ros_domain):
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image

    from kiwi_common.node_interface import declare_params
    from kiwi_driver.driver_node import INTERFACE
    from kiwi_driver.world import SimWorld

    env = KiwiPickEnv(cameras="front,wrist", image_height=SHAPE[0], image_width=SHAPE[1])
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("camera_sizes_test", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        params = vars(declare_params(node, INTERFACE)) | {"image_size": f"{SHAPE[0]}x{SHAPE[1]}"}
        world = SimWorld(node, env.sim, SimpleNamespace(**params), on_reset=lambda: None)
        obs, _ = env.reset(seed=3)  # after the world's own reset: both see this layout
        frames = {}
        for cam in CAMERAS:
            node.create_subscription(
                Image,
                f"camera/{cam}/image_raw",
                lambda msg, cam=cam: frames.setdefault(cam, msg),
                qos_profile_sensor_data,
            )
        deadline = time.monotonic() + 10
        while not all(world.cameras[cam][1].wanted() for cam in CAMERAS):
            assert time.monotonic() < deadline, "the driver's camera publishers never saw the subscriptions"
            time.sleep(0.05)
        world.publish(world.stamp())  # the state the env observed: nothing stepped since
        while len(frames) < len(CAMERAS) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert len(frames) == len(CAMERAS), f"frames of {sorted(frames)} only"
        assert (frames["wrist"].width, frames["wrist"].height) == render_size((480, 640), SHAPE)
        for cam in CAMERAS:
            decoded = decode_image(frames[cam], SHAPE)  # the policy node's and the converter's decode
            np.testing.assert_array_equal(decoded, obs["pixels"][cam], err_msg=cam)
        # A real camera's full-size frame: the same resize, to the same size and type.
        full = env.sim.render("wrist", 480, 640)
        np.testing.assert_array_equal(
            decode_image(to_image(full, world.stamp(), "w"), SHAPE), resize_image(full, SHAPE)
        )
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
        env.close()
