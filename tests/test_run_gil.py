"""The run's short GIL switch interval is set for the block and restored after."""

from __future__ import annotations

import sys

import pytest

from zmigrate.run.gil import SWITCH_SECONDS, loop_first


def test_loop_first_shortens_the_switch_interval_and_restores_it() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), loop_first():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_SECONDS)
        assert before > SWITCH_SECONDS
        raise RuntimeError("the run failed")
    assert sys.getswitchinterval() == before
