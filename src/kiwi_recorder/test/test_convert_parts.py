"""Resampling, action alignment and bag recovery, without ROS nodes."""

import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from kiwi_description import constants as c
from kiwi_recorder.convert import Stream, _actions, frame_times
from kiwi_recorder.synthetic import gated_mapping, write_gated_episode


def test_frame_times_cover_the_span_at_fps():
    times = frame_times(10.0, 12.0, 30.0)
    assert len(times) == 61 and times[0] == 10.0 and times[-1] == pytest.approx(12.0)
    assert len(frame_times(1.0, 0.5, 30.0)) == 0


def test_asof_holds_and_tolerates_rounded_stamps():
    stream = Stream(np.array([1.0, 2.0, 3.0000000004]), ["a", "b", "c"])
    idx = stream.asof(np.array([0.5, 1.0, 2.5, 3.0]))
    assert list(idx) == [-1, 0, 1, 2], "a stamp rounded past the tick still belongs to it"


def _twist(vx):
    return SimpleNamespace(linear=SimpleNamespace(x=vx, y=0.0), angular=SimpleNamespace(z=0.0))


def test_actions_hold_arm_targets_and_time_out_the_base():
    present = {j: 0.0 for j in c.ARM_JOINTS}
    arm = Stream(np.array([1.0]), [SimpleNamespace(name=["arm_elbow_flex"], position=[np.radians(30.0)])])
    twists = Stream(np.array([1.0]), [_twist(0.2)])
    times = np.array([0.5, 1.0, 1.0 + 0.8 * c.CMD_TIMEOUT_S, 1.0 + 2 * c.CMD_TIMEOUT_S])
    actions = _actions(arm, twists, times, [present] * 4)
    assert actions[0, 2] == 0.0 and actions[0, 6] == 0.0, "before any command: present pose, no motion"
    assert actions[1, 2] == pytest.approx(30.0) and actions[1, 6] == pytest.approx(0.2)
    assert actions[2, 6] == pytest.approx(0.2)
    assert actions[3, 2] == pytest.approx(30.0) and actions[3, 6] == 0.0, "the base command timed out"


WRITER = """
import os, signal, sys
from rclpy.serialization import serialize_message
from std_msgs.msg import String
from kiwi_recorder.bag import EpisodeBag
bag = EpisodeBag(sys.argv[1], {"/chatter": "std_msgs/msg/String"})
for i in range(300):
    bag.write("/chatter", 1000 + i, serialize_message(String(data=str(i))))
    if i == 199:
        bag.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_recorder_leaves_a_recoverable_bag(tmp_path):
    from kiwi_recorder.bag import damage, deserialize, open_reader, readable_bag

    proc = subprocess.run([sys.executable, "-c", WRITER, str(tmp_path / "bag")], env=os.environ.copy())
    assert proc.returncode == -signal.SIGKILL
    assert "unfinished" in damage(tmp_path / "bag")
    # Everything up to the last flush survives.
    fixed, warning = readable_bag(tmp_path / "bag", tmp_path / "scratch")
    assert "recovered 200 messages" in warning
    reader = open_reader(fixed)
    values = [deserialize(d, conn.msgtype).data for conn, _, d in reader.messages()]
    reader.close()
    assert values == [str(i) for i in range(200)]


def _finished_bag(path, messages=400, flush_every=50):
    """A closed bag of String messages '0', '1', ... in chunks of `flush_every` (as the recorder's
    one-second flushes make them); returns the byte offset where each chunk ends."""
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    from kiwi_recorder.bag import EpisodeBag

    bag = EpisodeBag(path, {"/chatter": "std_msgs/msg/String"}, {"task": "chat"})
    ends = []
    for i in range(messages):
        bag.write("/chatter", 10**9 + i * 10**7, serialize_message(String(data=str(i))))
        if (i + 1) % flush_every == 0:
            bag.flush()
            ends.append(bag.writer.storage.bio.tell())
    bag.close()
    return ends


def test_a_bag_cut_short_is_read_up_to_its_last_complete_chunk(tmp_path):
    """A closed bag whose file was cut (a full disk, a copy stopped), at random places: the reader
    gets exactly the messages of the chunks before the cut, and one line says how many."""
    from kiwi_recorder.bag import BagError, damage, deserialize, open_reader, readable_bag

    ends = _finished_bag(tmp_path / "whole")
    assert damage(tmp_path / "whole") is None
    mcap = next((tmp_path / "whole").glob("*.mcap")).read_bytes()
    rng = np.random.default_rng(7)
    for k, cut in enumerate(sorted(rng.integers(8, len(mcap) - 1, 12))):
        bag = tmp_path / f"cut{k}"
        bag.mkdir()
        (bag / "metadata.yaml").write_bytes(((tmp_path / "whole") / "metadata.yaml").read_bytes())
        (bag / "episode.mcap").write_bytes(mcap[:cut])
        assert "truncated" in damage(bag)
        whole_chunks = sum(end <= cut for end in ends)
        if whole_chunks == 0:
            with pytest.raises(BagError, match=f"{bag}: no complete message"):
                readable_bag(bag, tmp_path / f"scratch{k}")
            continue
        fixed, warning = readable_bag(bag, tmp_path / f"scratch{k}")
        reader = open_reader(fixed)
        values = [deserialize(d, conn.msgtype).data for conn, _, d in reader.messages()]
        reader.close()
        assert values == [str(i) for i in range(len(values))], "a prefix, in order"
        assert len(values) >= 50 * whole_chunks, (cut, whole_chunks)
        assert warning == (
            f"{bag}: truncated (its MCAP file has no end); recovered {len(values)} messages "
            f"({(len(values) - 1) * 0.01:.1f} s) up to the last complete one"
        )


def test_convert_reads_a_truncated_bag_and_says_so(tmp_path, capsys):
    from kiwi_recorder.convert import convert

    write_gated_episode(tmp_path / "whole", frames=90)
    mcap = next((tmp_path / "whole").glob("*.mcap"))
    cut = tmp_path / "episode_0000"
    cut.mkdir()
    (cut / "metadata.yaml").write_bytes((tmp_path / "whole" / "metadata.yaml").read_bytes())
    (cut / mcap.name).write_bytes(mcap.read_bytes()[: mcap.stat().st_size * 2 // 3])
    summary = convert([cut], tmp_path / "out", progress=False, mapping=gated_mapping(), use_videos=False)
    assert 0 < summary["frames"] < 90
    err = capsys.readouterr().err
    assert f"warning: {cut}: truncated" in err and "recovered" in err


def test_a_corrupt_bag_is_named(tmp_path):
    from kiwi_recorder.convert import ConvertError, convert

    bad = tmp_path / "episode_0000"
    bad.mkdir()
    (bad / "episode_0000.mcap").write_bytes(b"not an mcap file")
    with pytest.raises(ConvertError, match="episode_0000.*not an MCAP file"):
        convert([bad], tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_rmw_padded_messages_decode():
    # rmw pads a JointState with an empty effort 4 bytes past its CDR size; rosbags' decoder rejects that.
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import JointState

    from kiwi_recorder.bag import deserialize

    msg = JointState(name=list(c.ALL_JOINTS), position=[0.1] * 9, velocity=[0.2] * 9)
    back = deserialize(serialize_message(msg), "sensor_msgs/msg/JointState")
    assert list(back.name) == list(c.ALL_JOINTS) and list(back.velocity) == [0.2] * 9


def test_a_discarded_episode_leaves_nothing(tmp_path):
    from kiwi_recorder.bag import EpisodeBag

    bag = EpisodeBag(tmp_path / "episode_0000", {"/chatter": "std_msgs/msg/String"})
    bag.write("/chatter", 1, b"\x00\x01\x00\x00\x02\x00\x00\x00x\x00")
    bag.discard()
    assert not (tmp_path / "episode_0000").exists()


def test_intervention_segments():
    from kiwi_recorder.convert import intervention_segments

    flags = np.array([0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1], dtype=np.float32)[:, None]
    assert intervention_segments(flags, 3) == [(1, 4), (8, 12)], "the one-frame blip is dropped"
    assert intervention_segments(np.zeros((5, 1)), 1) == []


def test_corrections_keep_only_intervention_segments_with_environment_state(tmp_path):

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from kiwi_common.features import ENVIRONMENT_STATE
    from kiwi_recorder.convert import ConvertError, convert

    write_gated_episode(tmp_path / "episode_0000")
    mapping = gated_mapping()

    def convert_corrections(out, **options):
        return convert(
            [],
            tmp_path / out,
            mapping=mapping,
            use_videos=False,
            corrections=[tmp_path / "episode_0000"],
            progress=False,
            **options,
        )

    summary = convert_corrections("ds")
    assert summary["episodes"] == 1 and summary["frames"] == 15
    ds = LeRobotDataset("local/ds", root=tmp_path / "ds")
    first = ds[0]
    assert first["intervention"].item() == 1.0
    env = first[ENVIRONMENT_STATE].numpy()
    assert env[:3] == pytest.approx([0.5, 0.05, 0.015], abs=1e-5), "cube relative to the robot at x = 0.1"
    assert env[5:] == pytest.approx([0.2, 0.0, 1.0], abs=1e-5)
    assert first["action"][6].item() == pytest.approx(0.1), "the expert's twist is the action"
    # A constant cube height and turn: their spreads are the floors, not zero (normalization.py).
    assert ds.meta.stats[ENVIRONMENT_STATE]["std"][2] == pytest.approx(0.01)
    assert ds.meta.stats["action"]["std"][8] == pytest.approx(5.0)
    assert first["action"][2].item() == pytest.approx(np.degrees(0.2), abs=1e-3), (
        "the expert's arm target at frame 20"
    )
    # Oversampled corrections: the segment twice; one shorter than min_segment_frames: none.
    twice = convert_corrections("ds2", correction_weight=2)
    assert twice["episodes"] == 2 and twice["frames"] == 30
    with pytest.raises(ConvertError, match="no intervention segment"):
        convert_corrections("ds3", min_segment_frames=16)


def test_intervention_segments_close_together_are_one_correction():
    from kiwi_recorder.convert import intervention_segments

    flags = np.array([0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]).reshape(-1, 1)
    assert intervention_segments(flags, 3, merge_gap=2) == [(1, 10)], "a hand-back undone at once"
    assert intervention_segments(flags, 3, merge_gap=0) == [(1, 4), (6, 10)]
    assert intervention_segments(flags, 5, merge_gap=0) == [], "shorter than a chunk: dropped"
