"""An emulator of STS3215 servos on one bus, speaking Feetech's protocol 0 on a pseudo-terminal.

It lets the real serial code path (pyserial, scservo_sdk, LeRobot's FeetechMotorsBus, our
backend) run without hardware: `FeetechEmulator().port` is a device path to open at any baud
rate. Servos keep a register table (addresses as in LeRobot's STS control table), move towards
their goal position (position mode) or spin at their goal velocity (velocity mode), and can be
made to fail: `silent` ids never answer (unplugged), `corrupt` ids answer with a bad checksum.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty

from kiwi_description.constants import STS3215_MODEL_NUMBER

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
PING, READ, WRITE, REG_WRITE, ACTION, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x82, 0x83

# Register addresses (LeRobot's STS_SMS_SERIES_CONTROL_TABLE).
FIRMWARE_MAJOR, FIRMWARE_MINOR, MODEL_NUMBER, ID = 0, 1, 3, 5
MIN_POSITION, MAX_POSITION, HOMING_OFFSET, OPERATING_MODE = 9, 11, 31, 33
TORQUE_ENABLE, GOAL_POSITION, GOAL_VELOCITY = 40, 42, 46
PRESENT_POSITION, PRESENT_VELOCITY, PRESENT_VOLTAGE, PRESENT_TEMPERATURE = 56, 58, 62, 63


def checksum(body: bytes) -> int:
    return ~sum(body) & 0xFF


def packet(servo_id: int, code: int, params: bytes = b"") -> bytes:
    """An instruction (code = instruction) or status (code = error byte) packet."""
    body = bytes([servo_id, len(params) + 2, code]) + params
    return HEADER + body + bytes([checksum(body)])


def encode_sign(value: int, sign_bit: int) -> int:
    return (-value | (1 << sign_bit)) if value < 0 else value


def decode_sign(raw: int, sign_bit: int) -> int:
    return -(raw & ((1 << sign_bit) - 1)) if raw & (1 << sign_bit) else raw


class Servo:
    def __init__(self, servo_id: int, position: int = 2048):
        self.mem = bytearray(256)
        self.mem[FIRMWARE_MAJOR], self.mem[FIRMWARE_MINOR] = 3, 10
        self.put(MODEL_NUMBER, STS3215_MODEL_NUMBER)
        self.mem[ID] = servo_id
        self.put(MAX_POSITION, 4095)
        self.mem[PRESENT_VOLTAGE], self.mem[PRESENT_TEMPERATURE] = 120, 31  # 12.0 V, 31 C
        self.actual = float(position)  # encoder steps, before the homing offset
        self.put(GOAL_POSITION, position)

    def get(self, addr: int) -> int:
        return self.mem[addr] | self.mem[addr + 1] << 8

    def put(self, addr: int, value: int) -> None:
        self.mem[addr], self.mem[addr + 1] = value & 0xFF, (value >> 8) & 0xFF

    def homing(self) -> int:
        return decode_sign(self.get(HOMING_OFFSET), 11)

    def update(self, dt: float, max_speed: float = 3000.0) -> None:
        """Advance the motion by dt seconds and refresh the present-state registers."""
        velocity = 0.0
        if not self.mem[TORQUE_ENABLE]:  # a limp servo's goal follows it, so torque-on holds still
            self.put(GOAL_POSITION, encode_sign(round(self.actual) - self.homing(), 15))
        else:
            if self.mem[OPERATING_MODE] == 1:
                velocity = float(decode_sign(self.get(GOAL_VELOCITY), 15))
                self.actual = (self.actual + velocity * dt) % 4096
            else:
                # Limits apply to positions as read (after the homing offset), like the calibration.
                goal = decode_sign(self.get(GOAL_POSITION), 15)
                goal = min(max(goal, self.get(MIN_POSITION)), self.get(MAX_POSITION)) + self.homing()
                step = max(-max_speed * dt, min(max_speed * dt, goal - self.actual))
                self.actual += step
                velocity = step / dt if dt > 0 else 0.0
        self.put(PRESENT_POSITION, encode_sign(round(self.actual) - self.homing(), 15))
        self.put(PRESENT_VELOCITY, encode_sign(round(velocity), 15))


class FeetechEmulator:
    """Servos with the given ids behind a pseudo-terminal; `port` is the path to open."""

    def __init__(self, ids, positions: dict[int, int] | None = None, update_hz: float = 200.0):
        self.servos = {i: Servo(i, (positions or {}).get(i, 2048)) for i in ids}
        self.silent: set[int] = set()
        self.corrupt: set[int] = set()
        self.lock = threading.Lock()
        self.packets_seen = 0
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        self.port = os.ttyname(slave)
        self._slave = slave  # kept open so the pty stays up between client connections
        self._stop = threading.Event()
        self._dt = 1.0 / update_hz
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self._slave)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- bus -------------------------------------------------------------------------------------

    def _serve(self) -> None:
        buf = bytearray()
        last = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], self._dt)
            now = time.monotonic()
            with self.lock:
                for servo in self.servos.values():
                    servo.update(now - last)
            last = now
            if not ready:
                continue
            try:
                buf += os.read(self.master, 4096)
            except OSError:
                continue
            while True:
                pkt = self._take_packet(buf)
                if pkt is None:
                    break
                with self.lock:
                    reply = self._handle(*pkt)
                if reply:
                    os.write(self.master, reply)

    @staticmethod
    def _take_packet(buf: bytearray):
        start = buf.find(HEADER)
        if start < 0:
            del buf[:-1]
            return None
        del buf[:start]
        if len(buf) < 4 or len(buf) < 4 + buf[3]:
            return None
        length = buf[3]
        body = bytes(buf[2 : 3 + length])
        chk = buf[3 + length]
        del buf[: 4 + length]
        if checksum(body) != chk:
            return None  # a real servo ignores a corrupted instruction
        return body[0], body[2], body[3:]

    def _status(self, servo_id: int, params: bytes = b"") -> bytes:
        if servo_id in self.silent:
            return b""
        reply = packet(servo_id, 0, params)
        if servo_id in self.corrupt:
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        return reply

    def _handle(self, servo_id: int, instruction: int, params: bytes) -> bytes:
        self.packets_seen += 1
        targets = list(self.servos) if servo_id == BROADCAST_ID else [servo_id]
        present = [i for i in targets if i in self.servos]
        if instruction == PING:
            return b"".join(self._status(i) for i in present)
        if instruction == READ:
            addr, n = params[0], params[1]
            return b"".join(self._status(i, bytes(self.servos[i].mem[addr : addr + n])) for i in present)
        if instruction in (WRITE, REG_WRITE):
            addr, data = params[0], params[1:]
            for i in present:
                if i not in self.silent:
                    self._write(i, addr, data)
            return b"" if servo_id == BROADCAST_ID else b"".join(self._status(i) for i in present)
        if instruction == SYNC_READ:
            addr, n, ids = params[0], params[1], params[2:]
            return b"".join(
                self._status(i, bytes(self.servos[i].mem[addr : addr + n])) for i in ids if i in self.servos
            )
        if instruction == SYNC_WRITE:
            addr, n = params[0], params[1]
            for k in range(2, len(params), n + 1):
                i = params[k]
                if i in self.servos and i not in self.silent:
                    self._write(i, addr, params[k + 1 : k + 1 + n])
            return b""
        return b"" if servo_id == BROADCAST_ID else b"".join(self._status(i) for i in present)

    def _write(self, servo_id: int, addr: int, data: bytes) -> None:
        servo = self.servos[servo_id]
        if addr in (PRESENT_POSITION, PRESENT_VELOCITY):
            return  # read-only
        servo.mem[addr : addr + len(data)] = data
