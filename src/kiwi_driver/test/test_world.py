"""The driver's worlds on their own: the sim's clock, reset answer (data, not prose) and cameras
that render only for a reader; the real robot's clock and measured time steps."""

import json
import time
from types import SimpleNamespace

import pytest

from kiwi_common.task import sample_layout
from kiwi_driver.sim_backend import SimBackend
from kiwi_driver.world import RealWorld, SimWorld, layout_json


def test_layout_as_data():
    assert json.loads(layout_json(sample_layout(3, True))) == {
        "seed": 3,
        "cube": [round(v, 4) for v in sample_layout(3, True).cube_xy],
        "cube_yaw": round(sample_layout(3, True).cube_yaw, 4),
        "obstacle": [round(v, 4) for v in sample_layout(3, True).obstacle_xy],
    }
    assert json.loads(layout_json(sample_layout(4, False)))["obstacle"] is None


class CountingSim(SimBackend):
    """The real sim, counting its camera renders."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.renders = []

    def render(self, camera, width, height):
        self.renders.append(camera)
        return super().render(camera, width, height)


@pytest.fixture
def node(ros_domain):
    import rclpy

    from kiwi_common.node_interface import declare_params
    from kiwi_driver.driver_node import INTERFACE

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("world_test", context=context)
    params = declare_params(node, INTERFACE)
    yield node, params
    node.destroy_node()
    rclpy.shutdown(context=context)


def small_camera_params(params, **changes):
    return SimpleNamespace(**{**vars(params), "image_size": "24x32", **changes})


def test_sim_world_renders_only_for_a_reader_and_resets_with_the_layout(node):
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CompressedImage
    from std_srvs.srv import Trigger

    node, params = node
    sim = CountingSim(control_dt=1 / 30)
    resets = []
    world = SimWorld(node, sim, small_camera_params(params), on_reset=lambda: resets.append(1))
    assert world.now() == sim.time and world.step(1 / 30, 0.5) == 1 / 30
    for _ in range(3):
        world.publish(world.stamp())
    assert sim.renders == [], "nobody subscribes: nothing rendered"

    frames = []
    node.create_subscription(
        CompressedImage, "camera/front/image_raw/compressed", frames.append, qos_profile_sensor_data
    )
    deadline = time.monotonic() + 5
    while not world.cameras["front"][1].wanted() and time.monotonic() < deadline:
        time.sleep(0.05)
    world.publish(world.stamp())
    assert sim.renders == ["front"], "only the camera someone reads"

    node.set_parameters([Parameter("seed", value=5), Parameter("obstacle", value=True)])  # what reset reads
    response = world._on_reset(Trigger.Request(), Trigger.Response())
    assert response.success and resets == [1]
    assert json.loads(response.message) == json.loads(layout_json(sample_layout(5, True)))
    sim.close()


def test_real_world_uses_the_node_clock_and_measured_steps(node):
    node, _ = node
    world = RealWorld(node)
    assert abs(world.now() - time.time()) < 1.0
    assert world.step(1 / 30, 0.05) == 0.05 and world.step(1 / 30, None) == 1 / 30
    world.publish(world.stamp())  # nothing else to publish
