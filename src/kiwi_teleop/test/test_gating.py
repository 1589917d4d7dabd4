import math

import pytest

from kiwi_description import constants as c
from kiwi_teleop.gating import Gate, GateRule, action_errors

RULE = GateRule(
    base_error=0.1, arm_error=0.3, clearance=0.03, engage_s=0.2, release_s=0.5, release_fraction=0.5
)
FAR = math.inf


def run(gate, t0, seconds, base, arm=0.0, clearance=FAR, dt=1 / 30):
    out = []
    for k in range(round(seconds / dt)):
        out.append(gate.update(t0 + k * dt, base, arm, clearance))
    return out


def test_errors_combine_turn_rate_with_the_chassis_radius():
    base, arm = action_errors((0.1, 0.0, 1.0), [0.0, 0.2], (0.0, 0.0, 0.0), [0.1, 0.0])
    assert base == pytest.approx(math.hypot(0.1, c.BASE_BODY_RADIUS))
    assert arm == pytest.approx(0.2)


def test_takes_over_only_after_engage_s_outside():
    gate = Gate(RULE)
    assert not any(run(gate, 0.0, 0.15, base=0.2)), "a short excursion is not a take-over"
    assert not any(run(gate, 1.0, 0.5, base=0.05)), "back inside resets the count"
    assert run(gate, 2.0, 0.3, base=0.0, arm=0.4)[-1], "an arm target 0.4 rad off for 0.3 s takes over"


def test_obstacle_too_close_takes_over_at_once():
    gate = Gate(RULE)
    assert gate.update(0.0, 0.0, 0.0, clearance=0.02)


def test_hands_back_after_release_s_well_inside():
    gate = Gate(RULE)
    run(gate, 0.0, 0.3, base=0.5)
    assert gate.engaged
    assert all(run(gate, 1.0, 1.0, base=0.08)), (
        "inside the limit but not within half of it: the expert keeps driving"
    )
    verdicts = run(gate, 2.0, 1.0, base=0.02)
    assert verdicts[0] and not verdicts[-1]
    assert verdicts.index(False) == pytest.approx(0.5 * 30, abs=2)
    gate.update(5.0, 0.5, 0.0, 0.02)
    gate.reset()
    assert not gate.engaged
