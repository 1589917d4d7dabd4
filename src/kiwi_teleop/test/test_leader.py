"""SO-101 leader arm: mapping and motion gate, then the node on an emulated Feetech bus."""

import json
import math
import signal
import sys

import pytest

from kiwi_description import constants as c
from kiwi_teleop.leader import LEADER_MOTOR_IDS, MotionGate, leader_to_arm


def test_leader_maps_by_name_in_lerobot_units():
    arm = leader_to_arm({"shoulder_pan": 90.0, "elbow_flex": -45.0, "gripper": 100.0})
    assert arm == pytest.approx(
        {
            "arm_shoulder_pan": math.pi / 2,
            "arm_elbow_flex": -math.pi / 4,
            "arm_gripper": c.ARM_LIMITS[c.GRIPPER_JOINT].upper,
        }
    )


def test_motion_gate_engages_on_moves_and_releases_after_hold():
    gate = MotionGate(threshold=2.0, hold_s=1.0)
    assert not gate.update({"a": 0.0}, 0.0)
    assert not gate.update({"a": 1.5}, 0.1), "under the threshold"
    assert gate.update({"a": 2.5}, 0.2), "over it"
    assert gate.update({"a": 2.6}, 1.1) and not gate.update({"a": 2.6}, 1.3)
    assert not gate.update({"a": 3.5}, 2.0) and gate.update({"a": 4.6}, 2.1), "slow drift adds up"


def leader_calibration():
    return {
        name: {"id": i, "drive_mode": 0, "homing_offset": 0, "range_min": 1000, "range_max": 3000}
        for name, i in LEADER_MOTOR_IDS.items()
    }


@pytest.mark.integration
def test_leader_node_on_an_emulated_bus(start_nodes, ros_probe, tmp_path):
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Bool

    from kiwi_common import feetech_emulator as fe

    (tmp_path / "desk.json").write_text(json.dumps(leader_calibration()))
    arms, engaged = [], []
    ros_probe.node.create_subscription(JointState, "/teleop/arm/command", arms.append, 10)
    ros_probe.node.create_subscription(Bool, "/teleop/engaged", engaged.append, 10)
    diags = []
    ros_probe.node.create_subscription(DiagnosticArray, "/diagnostics", diags.append, 10)
    with fe.FeetechEmulator(LEADER_MOTOR_IDS.values()) as emulator:
        for servo in emulator.servos.values():
            servo.put(fe.MIN_POSITION, 1000)
            servo.put(fe.MAX_POSITION, 3000)
            servo.actual = 2000.0  # mid-range: zero degrees, gripper 50 %
        node = start_nodes(
            [
                sys.executable,
                "-m",
                "kiwi_teleop.leader_node",
                "--ros-args",
                "-p",
                f"port:={emulator.port}",
                "-p",
                "leader_id:=desk",
                "-p",
                f"calibration_dir:={tmp_path}",
                "-p",
                "engage_hold_s:=0.5",
            ]
        )
        assert ros_probe.spin_until(lambda: arms and engaged, 30), "no arm command from the leader node"
        pos = dict(zip(arms[-1].name, arms[-1].position))
        lim = c.ARM_LIMITS[c.GRIPPER_JOINT]
        assert set(pos) == set(c.ARM_JOINTS)
        assert pos["arm_elbow_flex"] == pytest.approx(0.0, abs=1e-3)
        assert pos["arm_gripper"] == pytest.approx((lim.lower + lim.upper) / 2, abs=1e-2)
        assert not engaged[-1].data, "a leader at rest is not engaged"
        assert all(s.mem[fe.TORQUE_ENABLE] == 0 for s in emulator.servos.values()), "the leader stays limp"

        emulator.servos[1].actual = 2200.0  # a person moves the shoulder pan by 200 steps
        moved = math.radians(200 * 360 / 4095)
        assert ros_probe.spin_until(
            lambda: (
                dict(zip(arms[-1].name, arms[-1].position))["arm_shoulder_pan"]
                == pytest.approx(moved, abs=1e-3)
                and engaged[-1].data
            ),
            10,
        )
        assert ros_probe.spin_until(lambda: not engaged[-1].data, 5), "held still: hands back"

        emulator.silent.add(3)  # a servo stops answering: reported, and no commands made up meanwhile
        assert ros_probe.spin_until(lambda: diags and diags[-1].status[0].level == b"\x02", 10)
        assert "failing" in diags[-1].status[0].message
        ros_probe.spin_for(0.2)  # anything already in flight
        count = len(arms)
        ros_probe.spin_for(0.5)
        assert len(arms) == count
        emulator.silent.clear()
        assert ros_probe.spin_until(lambda: len(arms) > count, 10), "reads resume when the servo answers"
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=10) == 0, node.stdout.read()


def test_missing_leader_calibration_says_how_to_calibrate(tmp_path):
    from kiwi_common.feetech_bus import BusError
    from kiwi_teleop.leader_node import open_leader

    with pytest.raises(BusError, match="lerobot-calibrate --teleop.type=so101_leader --teleop.id=nobody"):
        open_leader("/dev/null", "nobody", str(tmp_path), 3)
