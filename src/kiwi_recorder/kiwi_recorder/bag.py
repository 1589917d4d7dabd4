"""rosbag2 MCAP bags through `rosbags` (pure Python; bags interchangeable with `ros2 bag record`).

`EpisodeBag` writes one episode. rosbags' MCAP writer keeps up to 1 MiB in its open chunk and
writes the summary and `metadata.yaml` only on close, so `flush()` closes the chunk and flushes the
file (the recorder calls it every second): a killed recorder loses at most that last second, and
`recover_bag` turns the unfinished file, or one cut short, into a normal bag.
"""

from __future__ import annotations

import importlib
import shutil
import struct
from pathlib import Path

import yaml
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.ROS2_JAZZY)
MCAP_MAGIC = b"\x89MCAP0\r\n"
_SCHEMA, _CHANNEL, _MESSAGE, _CHUNK = 0x03, 0x04, 0x05, 0x06


class BagError(RuntimeError):
    """A bag that cannot be written or read; the message names the bag and the problem."""


def _check_known_types(msgtypes) -> None:
    missing = [t for t in msgtypes if t not in TYPESTORE.fielddefs]
    if missing:
        raise BagError(f"message types unknown to the Jazzy type store: {', '.join(missing)}")


class EpisodeBag:
    def __init__(self, path: Path, topics: dict[str, str], custom_data: dict[str, str] | None = None):
        """Open a new bag folder `path` (must not exist) for `topics` {name: 'pkg/msg/Type'}."""
        _check_known_types(topics.values())
        self.path = Path(path)
        try:
            self.writer = Writer(self.path, version=9, storage_plugin=StoragePlugin.MCAP)
            self.writer.open()
        except (OSError, FileExistsError) as exc:
            raise BagError(f"cannot create the bag {self.path}: {exc}") from exc
        for key, value in (custom_data or {}).items():
            self.writer.set_custom_data(key, value)
        self.connections = {
            topic: self.writer.add_connection(topic, msgtype, typestore=TYPESTORE)
            for topic, msgtype in topics.items()
        }
        self.count = 0

    def write(self, topic: str, stamp_ns: int, data: bytes) -> None:
        try:
            self.writer.write(self.connections[topic], stamp_ns, data)
        except OSError as exc:
            raise BagError(f"cannot write to {self.path}: {exc}") from exc
        self.count += 1

    def flush(self) -> None:
        storage = self.writer.storage  # rosbags' McapWriter: finish the open chunk, then flush
        try:
            if storage.chunk.bio.tell():
                storage.close_chunk()
            storage.bio.flush()
        except OSError as exc:
            raise BagError(f"cannot write to {self.path}: {exc}") from exc

    def set_custom_data(self, key: str, value: str) -> None:
        self.writer.set_custom_data(key, value)

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError as exc:
            raise BagError(f"cannot finish the bag {self.path}: {exc}") from exc

    def discard(self) -> None:
        """Close without finishing (no summary, no metadata) and delete the bag folder."""
        self.writer.abort()
        shutil.rmtree(self.path, ignore_errors=True)


def custom_data(path: Path) -> dict[str, str]:
    """The `custom_data` of a finished bag's metadata.yaml (rosbag2 format; empty if none)."""
    info = yaml.safe_load((Path(path) / "metadata.yaml").read_text()) or {}
    return dict((info.get("rosbag2_bagfile_information") or {}).get("custom_data") or {})


def is_finished(path: Path) -> bool:
    return (Path(path) / "metadata.yaml").is_file()


def damage(path: Path) -> str | None:
    """Why the bag folder `path` cannot be read as it is (None: it looks whole): no metadata.yaml
    (its recorder was killed), an unreadable one, or an MCAP file without its end (cut short by a
    full disk or a copy). Cheap: reads the metadata and the file's last bytes only."""
    path = Path(path)
    files = sorted(path.glob("*.mcap"))
    if len(files) != 1:
        return None  # not a bag Kiwi wrote; the reader names the problem
    if not is_finished(path):
        return "unfinished (no metadata.yaml: its recorder was stopped mid-episode)"
    try:
        info = yaml.safe_load((path / "metadata.yaml").read_text())
        if not isinstance(info, dict) or "rosbag2_bagfile_information" not in info:
            raise ValueError("no rosbag2_bagfile_information")
    except (ValueError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"metadata.yaml unreadable ({str(exc).splitlines()[0]})"
    with files[0].open("rb") as f:
        f.seek(0, 2)
        if f.tell() < 2 * len(MCAP_MAGIC):
            return "truncated (its MCAP file is shorter than an empty one)"
        f.seek(-len(MCAP_MAGIC), 2)
        if f.read() != MCAP_MAGIC:
            return "truncated (its MCAP file has no end)"
    return None


def _records(data: bytes):
    """(opcode, body) of each complete MCAP record, stopping at a truncated one."""
    pos = len(MCAP_MAGIC)
    while pos + 9 <= len(data):
        opcode, length = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
        if pos + 9 + length > len(data):
            return
        yield opcode, data[pos + 9 : pos + 9 + length]
        pos += 9 + length


def _string(body: bytes, pos: int) -> tuple[str, int]:
    n = struct.unpack_from("<I", body, pos)[0]
    if pos + 4 + n > len(body):
        raise ValueError("string runs past its record")
    return body[pos + 4 : pos + 4 + n].decode(), pos + 4 + n


def _complete_messages(mcap: Path):
    """Channels and messages of an MCAP file up to its first incomplete or damaged record (rosbags
    layout: everything in chunks)."""
    data = mcap.read_bytes()
    if MCAP_MAGIC.startswith(data):  # empty or cut inside the magic: stopped before its first flush
        return {}, []
    if not data.startswith(MCAP_MAGIC):
        raise BagError(f"{mcap} is not an MCAP file")
    channels: dict[int, tuple[str, str]] = {}
    schemas: dict[int, str] = {}
    messages: list[tuple[int, int, bytes]] = []

    def parse(records):
        for opcode, body in records:
            if opcode == _SCHEMA:
                sid = struct.unpack_from("<H", body)[0]
                schemas[sid], _ = _string(body, 2)
            elif opcode == _CHANNEL:
                cid, sid = struct.unpack_from("<HH", body)
                topic, _ = _string(body, 4)
                channels[cid] = (topic, schemas.get(sid, ""))
            elif opcode == _MESSAGE:
                cid, _seq, log_time = struct.unpack_from("<HIQ", body)
                if cid not in channels:
                    raise ValueError(f"a message on unknown channel {cid}")
                messages.append((cid, log_time, body[22:]))
            elif opcode == _CHUNK:
                compression, pos = _string(body, 28)
                if compression:
                    raise BagError(f"{mcap}: compressed chunks ({compression}) cannot be recovered")
                size = struct.unpack_from("<Q", body, pos)[0]
                if pos + 8 + size > len(body):
                    raise ValueError("a chunk longer than its record")
                parse(_records(MCAP_MAGIC + body[pos + 8 : pos + 8 + size]))

    try:
        parse(_records(data))
    except (ValueError, UnicodeDecodeError, struct.error):
        pass  # a damaged record: what came before it is what can be trusted
    known = {cid for cid, (_, msgtype) in channels.items() if msgtype in TYPESTORE.fielddefs}
    return channels, [m for m in messages if m[0] in known]


def recover_bag(src: Path, dst: Path) -> tuple[int, float]:
    """Rewrite the damaged bag `src` (unfinished: its recorder was killed; or cut short) as a
    normal bag at `dst` with every complete message; returns (messages, seconds they span).
    A bag with no complete message raises BagError."""
    files = sorted(Path(src).glob("*.mcap"))
    if len(files) != 1:
        raise BagError(f"{src}: expected one .mcap file in the bag, found {len(files)}")
    channels, messages = _complete_messages(files[0])
    if not messages:
        raise BagError(f"{src}: no complete message in the bag; nothing to recover")
    used = {cid for cid, _, _ in messages}
    try:  # a bag cut short after it was finished still has its task, outcome and mapping
        kept = {k: str(v) for k, v in custom_data(src).items()}
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError):
        kept = {}
    bag = EpisodeBag(
        dst,
        {topic: msgtype for cid, (topic, msgtype) in channels.items() if cid in used},
        {**kept, "recovered_from": str(src)},
    )
    for cid, log_time, payload in messages:
        bag.write(channels[cid][0], log_time, payload)
    bag.close()
    stamps = [log_time for _, log_time, _ in messages]
    return len(messages), (max(stamps) - min(stamps)) * 1e-9


def readable_bag(path: Path, scratch: Path) -> tuple[Path, str | None]:
    """The bag folder to read for `path` and, when `path` was damaged, the warning line saying what
    was recovered (its complete messages, rewritten under `scratch`)."""
    problem = damage(path)
    if problem is None:
        return Path(path), None
    fixed = Path(scratch) / Path(path).name
    count, seconds = recover_bag(path, fixed)
    return (
        fixed,
        f"{path}: {problem}; recovered {count} messages ({seconds:.1f} s) up to the last complete one",
    )


def open_reader(path: Path) -> Reader:
    """A rosbags Reader, with the reason in the error when the bag cannot be opened."""
    try:
        reader = Reader(Path(path))
        reader.open()
    except Exception as exc:  # rosbags raises several types for a missing or corrupt bag
        raise BagError(f"cannot read the bag {path}: {exc}") from exc
    return reader


def message_class(msgtype: str):
    """'pkg/msg/Type' -> the rclpy message class (rosidl_runtime_py is not on PyPI)."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def deserialize(data: bytes, msgtype: str):
    """CDR bytes -> an rclpy message. rclpy, not rosbags: rmw pads some messages (JointState with
    an empty effort) beyond their exact CDR size, which rosbags' strict decoder rejects."""
    from rclpy.serialization import deserialize_message

    return deserialize_message(bytes(data), message_class(msgtype))
