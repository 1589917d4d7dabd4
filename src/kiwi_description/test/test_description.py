"""URDF and MJCF load, and agree with each other and with the constants."""

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_description.mjcf import BASE_JOINTS, build_mjcf
from kiwi_description.urdf import build_urdf

URDF_FILE = Path(__file__).resolve().parents[1] / "urdf" / "lekiwi.urdf"


@pytest.fixture(scope="module")
def urdf():
    return ET.fromstring(build_urdf())


@pytest.fixture(scope="module")
def mj_model():
    mujoco = pytest.importorskip("mujoco")
    return mujoco.MjModel.from_xml_string(build_mjcf())


def test_committed_urdf_is_current():
    assert URDF_FILE.read_text() == build_urdf(), (
        "regenerate: python -m kiwi_description.urdf > urdf/lekiwi.urdf"
    )


def test_urdf_is_one_tree(urdf):
    links = {link.get("name") for link in urdf.iter("link")}
    children = [j.find("child").get("link") for j in urdf.iter("joint")]
    parents = [j.find("parent").get("link") for j in urdf.iter("joint")]
    assert len(children) == len(set(children)), "a link has two parents"
    assert set(children) | set(parents) <= links
    roots = links - set(children)
    assert roots == {"base_link"}


def test_urdf_joint_names_and_limits(urdf):
    joints = {j.get("name"): j for j in urdf.iter("joint")}
    for name in c.ARM_JOINTS:
        j = joints[name]
        assert j.get("type") == "revolute"
        limit = j.find("limit")
        assert float(limit.get("lower")) == pytest.approx(c.ARM_LIMITS[name].lower, abs=1e-6)
        assert float(limit.get("upper")) == pytest.approx(c.ARM_LIMITS[name].upper, abs=1e-6)
    for name in c.WHEEL_JOINTS:
        assert joints[name].get("type") == "continuous"
    movable = [n for n, j in joints.items() if j.get("type") != "fixed"]
    assert sorted(movable) == sorted(c.ALL_JOINTS)
    for cam in c.CAMERAS:
        assert f"{cam}_camera_optical_joint" in joints


def test_urdf_wheels_sit_on_the_base_circle(urdf):
    joints = {j.get("name"): j for j in urdf.iter("joint")}
    for name in c.WHEEL_JOINTS:
        x, y, z = map(float, joints[name].find("origin").get("xyz").split())
        assert math.hypot(x, y) == pytest.approx(c.BASE_RADIUS, abs=1e-6)
        assert z == pytest.approx(c.WHEEL_RADIUS, abs=1e-6)


def test_urdf_wheel_axes_agree_with_the_kinematics(urdf):
    """Spinning one wheel forwards (right-hand rule about its URDF axis, rolling without slip)
    pushes the base along that wheel's row of the kinematics matrix."""
    joints = {j.get("name"): j for j in urdf.iter("joint")}
    matrix = kin.wheel_matrix()
    for row, name in enumerate(c.WHEEL_JOINTS):
        j = joints[name]
        yaw = float(j.find("origin").get("rpy").split()[2])
        ax = np.array(list(map(float, j.find("axis").get("xyz").split())))
        rot = np.array([[math.cos(yaw), -math.sin(yaw), 0], [math.sin(yaw), math.cos(yaw), 0], [0, 0, 1]])
        axis = rot @ ax
        # Contact point is r below the axle; its velocity relative to the axle is w x (-r z).
        contact_vel = np.cross(axis, [0.0, 0.0, -c.WHEEL_RADIUS])
        base_dir = -contact_vel[:2] / c.WHEEL_RADIUS  # no slip: the base moves the other way
        assert base_dir == pytest.approx(matrix[row, :2], abs=1e-7)


def test_mjcf_compiles_with_the_same_joints_and_limits(mj_model):
    mujoco = pytest.importorskip("mujoco")
    names = [mj_model.joint(i).name for i in range(mj_model.njnt)]
    assert names[:3] == list(BASE_JOINTS)
    assert set(c.ALL_JOINTS) <= set(names)
    for name in c.ARM_JOINTS:
        j = mj_model.joint(name)
        assert j.range == pytest.approx([c.ARM_LIMITS[name].lower, c.ARM_LIMITS[name].upper], abs=1e-6)
        act = mj_model.actuator(name)
        assert act.ctrlrange == pytest.approx(j.range, abs=1e-6)
    for name in c.WHEEL_JOINTS + BASE_JOINTS:
        assert mj_model.actuator(name).trntype == mujoco.mjtTrn.mjTRN_JOINT
    for cam in c.CAMERAS:
        assert mj_model.camera(cam).id >= 0
    # Cheap rendering on software GL: no shadows, no multisampling, buffer fits the cameras.
    assert mj_model.vis.quality.shadowsize == 0 and mj_model.vis.quality.offsamples == 0
    assert mj_model.vis.global_.offwidth >= max(s.width for s in c.CAMERAS.values())


def test_urdf_and_mjcf_agree_on_joint_placement(urdf, mj_model):
    mujoco = pytest.importorskip("mujoco")
    data = mujoco.MjData(mj_model)
    mujoco.mj_forward(mj_model, data)
    joints = {j.get("name"): j for j in urdf.iter("joint")}
    # Chain the URDF origins (all rpy are zero in the arm) and compare world positions at zero pose.
    parent_of = {j.find("child").get("link"): j for j in urdf.iter("joint")}

    def urdf_position(joint_name):
        pos = np.zeros(3)
        j = joints[joint_name]
        while j is not None:
            pos += np.array(list(map(float, j.find("origin").get("xyz").split())))
            j = parent_of.get(j.find("parent").get("link"))
        return pos

    for name in c.ARM_JOINTS:
        assert data.xanchor[mj_model.joint(name).id] == pytest.approx(urdf_position(name), abs=1e-6)
