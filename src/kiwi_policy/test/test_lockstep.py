import numpy as np

from kiwi_policy.lockstep import LockstepChunks
from kiwi_policy.scheduler import ChunkScheduler, default_late_hold

DT = 1 / 30


def chunk_from(tick: int) -> np.ndarray:
    """Ten actions whose values say which tick's observation made them and their index."""
    return np.array([[100 * tick + i] for i in range(10)], float)


def run(ticks: int, replan_at=()):
    lockstep, used, asked = LockstepChunks(DT), [], []
    for k in range(ticks):
        action, chunk = lockstep.tick(k, lambda k=k: chunk_from(k), replan=k in replan_at)
        used.append(None if action is None else int(action[0]))
        if chunk is not None:
            asked.append(k)
    return used, asked, lockstep


def test_the_first_tick_holds_and_a_chunk_is_used_from_the_tick_after_its_observation():
    used, asked, _ = run(3)
    assert used[0] is None, "no chunk before the first observation's has arrived"
    assert asked[0] == 0
    assert used[1:] == [1, 2], "chunk 0's action 1 at tick 1: its action 0 elapsed while it was computed"


def test_the_next_chunk_is_asked_for_with_two_actions_left_and_none_runs_dry():
    used, asked, _ = run(30)
    assert asked == [0, 8, 16, 24], "eight actions of each chunk run, as the node's measured lead gives"
    assert used[8] == 8 and used[9] == 801 and used[17] == 1601
    assert None not in used[1:]


def test_while_a_human_drives_a_chunk_is_asked_for_every_tick():
    used, asked, _ = run(8, replan_at=range(2, 6))
    assert asked[:5] == [0, 2, 3, 4, 5]
    assert used[3:7] == [201, 301, 401, 501], "each tick acts on the chunk of the tick before"


def test_reset_forgets_the_chunk_on_its_way():
    lockstep = LockstepChunks(DT)
    lockstep.tick(0, lambda: chunk_from(0))
    lockstep.reset()
    action, asked = lockstep.tick(1, lambda: chunk_from(1))
    assert action is None and asked is not None and asked.t0 == DT


def test_a_single_step_policy_drives_with_the_nodes_late_hold():
    one_action = lambda k: np.array([[100.0 * k]])  # noqa: E731
    for late_hold, expected in ((0.0, [None] * 5), (default_late_hold(True), [None, 0, 100, 200, 300])):
        lockstep, used = LockstepChunks(DT, ChunkScheduler(late_hold=late_hold)), []
        for k in range(5):
            action, _ = lockstep.tick(k, lambda k=k: one_action(k))
            used.append(None if action is None else int(action[0]))
        assert used == expected, "its one action is a tick old when it arrives: held, or never run"
