"""The real backend over the real serial code path, against an emulated LeKiwi bus on a pty."""

import json
import math
import os
import time

import numpy as np
import pytest

from kiwi_common import feetech_emulator as fe
from kiwi_common.feetech_bus import BusError
from kiwi_description import constants as c
from kiwi_description import kinematics as kin
from kiwi_driver.feetech_backend import FeetechBackend

ROBOT_ID = "test_kiwi"


def calibration():
    cal = {}
    for name in c.ALL_JOINTS:
        full = name in c.WHEEL_JOINTS or name == "arm_wrist_roll"
        cal[name] = {
            "id": c.MOTOR_IDS[name],
            "drive_mode": 0,
            "homing_offset": 0 if full else -30,
            "range_min": 0 if full else 1000,
            "range_max": 4095 if full else 3000,
        }
    return cal


@pytest.fixture
def calibration_dir(tmp_path):
    (tmp_path / f"{ROBOT_ID}.json").write_text(json.dumps(calibration()))
    return tmp_path


@pytest.fixture
def emulator():
    # Arm at the middle of its calibrated range, wheels anywhere.
    emu = fe.FeetechEmulator(c.MOTOR_IDS.values())
    for cal in calibration().values():
        servo = emu.servos[cal["id"]]
        servo.put(fe.HOMING_OFFSET, fe.encode_sign(cal["homing_offset"], 11))
        servo.put(fe.MIN_POSITION, cal["range_min"])
        servo.put(fe.MAX_POSITION, cal["range_max"])
        mid = (cal["range_min"] + cal["range_max"]) / 2
        servo.actual = mid + cal["homing_offset"]
    yield emu
    emu.close()


def wait_for(condition, timeout=2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_missing_calibration_says_how_to_calibrate(tmp_path, emulator):
    with pytest.raises(BusError, match="lerobot-calibrate --robot.type=lekiwi --robot.id=nobody"):
        FeetechBackend(emulator.port, "nobody", str(tmp_path))


def test_servo_calibration_must_match_the_file(calibration_dir, emulator):
    emulator.servos[2].put(fe.MIN_POSITION, 1234)
    with pytest.raises(BusError, match="recalibrate"):
        FeetechBackend(emulator.port, ROBOT_ID, str(calibration_dir))


def test_no_servo_on_the_port(calibration_dir, emulator):
    emulator.silent.update(c.MOTOR_IDS.values())
    with pytest.raises(BusError, match="cannot open the LeKiwi bus"):
        FeetechBackend(emulator.port, ROBOT_ID, str(calibration_dir))


def test_configures_reads_writes_and_releases(calibration_dir, emulator):
    backend = FeetechBackend(emulator.port, ROBOT_ID, str(calibration_dir))
    arm_ids = [c.MOTOR_IDS[n] for n in c.ARM_JOINTS]
    wheel_ids = [c.MOTOR_IDS[n] for n in c.WHEEL_JOINTS]
    mem = {i: emulator.servos[i].mem for i in c.MOTOR_IDS.values()}
    assert all(mem[i][fe.OPERATING_MODE] == 0 and mem[i][21] == 16 and mem[i][22] == 32 for i in arm_ids)
    assert all(mem[i][fe.OPERATING_MODE] == 1 for i in wheel_ids)
    assert all(mem[i][fe.TORQUE_ENABLE] == 1 for i in c.MOTOR_IDS.values())

    # Mid-range reads as zero degrees (gripper: 50 % of its range, in radians of jaw).
    state = backend.read()
    lim = c.ARM_LIMITS[c.GRIPPER_JOINT]
    assert state.arm_position[:5] == pytest.approx(0.0, abs=math.radians(0.2))
    assert state.arm_position[5] == pytest.approx((lim.lower + lim.upper) / 2, abs=0.01)

    # Arm targets in radians become degree goals; the servo moves there and reads back.
    target = np.array([0.3, -0.2, 0.1, 0.0, 0.5, lim.lower])
    backend.write(target, np.zeros(3))
    assert wait_for(lambda: np.allclose(backend.read().arm_position, target, atol=math.radians(0.3))), (
        backend.read().arm_position,
        target,
    )

    # Wheel speeds become raw velocity goals (sign-magnitude, clamped like LeRobot).
    speeds = kin.body_to_wheel_speeds(0.1, 0.0, 0.0)
    backend.write(None, speeds)

    def goals():  # sync writes get no reply: wait for the emulator to have taken them
        return [fe.decode_sign(emulator.servos[i].get(fe.GOAL_VELOCITY), 15) for i in wheel_ids]

    expected = list(kin.body_to_wheel_raw(0.1, 0.0, 0.0))
    assert expected == [-1129, 0, 1129] and wait_for(lambda: goals() == expected), goals()
    assert wait_for(lambda: np.allclose(backend.read().wheel_velocity, speeds, atol=0.01))
    assert kin.wheel_speeds_to_body(backend.read().wheel_velocity)[0] == pytest.approx(0.1, abs=1e-3)

    diags = {d.name: d for d in backend.diagnostics()}
    assert diags["bus"].level == 0
    assert diags["servo arm_elbow_flex"].values["voltage"] == "12.0"

    backend.close(torque_off=True)
    assert wait_for(lambda: goals() == [0, 0, 0])
    assert all(mem[i][fe.TORQUE_ENABLE] == 0 for i in c.MOTOR_IDS.values())


def test_faults_are_errors_and_the_bus_recovers(calibration_dir, emulator):
    backend = FeetechBackend(emulator.port, ROBOT_ID, str(calibration_dir), num_retry=1, max_failures=2)
    backend.read()

    emulator.corrupt.add(4)  # bad checksum from one servo
    with pytest.raises(BusError, match="Incorrect status packet"):
        backend.read()
    emulator.corrupt.clear()
    backend.read()
    assert backend.servos.failures == 0 and backend.servos.errors == 1

    emulator.silent.add(3)  # a servo disappears
    for _ in range(3):
        with pytest.raises(BusError, match="no status packet|Missing motor IDs:\n  - 3"):
            backend.read()
    assert backend.servos.reconnects >= 1
    diags = {d.name: d for d in backend.diagnostics()}
    assert diags["bus"].level == 2 and "failing" in diags["bus"].message
    emulator.silent.clear()  # ... and comes back
    assert wait_for(lambda: _reads(backend), timeout=3.0)
    assert {d.name: d for d in backend.diagnostics()}["bus"].level == 0
    backend.close(torque_off=True)


def test_ctrl_c_inside_a_transaction_still_stops_the_wheels(calibration_dir, emulator):
    backend = FeetechBackend(emulator.port, ROBOT_ID, str(calibration_dir))
    backend.write(None, kin.body_to_wheel_speeds(0.0, 0.0, 1.0))
    wheel_ids = [c.MOTOR_IDS[n] for n in c.WHEEL_JOINTS]

    def goals():
        return [fe.decode_sign(emulator.servos[i].get(fe.GOAL_VELOCITY), 15) for i in wheel_ids]

    assert wait_for(lambda: all(goals()))
    # What a KeyboardInterrupt between the request and the reply leaves behind: the SDK's busy mark
    # and a reply nobody read.
    backend.bus.port_handler.is_using = True
    os.write(emulator.master, fe.packet(c.MOTOR_IDS["arm_shoulder_pan"], 0, bytes([0, 8])))
    time.sleep(0.05)
    backend.close(torque_off=True)
    assert wait_for(lambda: goals() == [0, 0, 0]), goals()
    assert all(emulator.servos[i].mem[fe.TORQUE_ENABLE] == 0 for i in c.MOTOR_IDS.values())


def _reads(backend):
    try:
        backend.read()
        return True
    except BusError:
        return False
