"""Test-wide environment: offline, headless, and ROS traffic kept on this machine."""

import os

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

import itertools

import pytest

_domain_ids = itertools.count((os.getpid() % 50) * 2 + 1)


@pytest.fixture
def ros_domain(monkeypatch):
    """A private ROS_DOMAIN_ID for this test (set before rclpy or any node starts)."""
    domain = str(next(_domain_ids) % 101 + 1)
    monkeypatch.setenv("ROS_DOMAIN_ID", domain)
    return domain
