"""The run's short GIL switch interval is set for the block and restored after."""

from __future__ import annotations

import sys

import pytest

from zmigrate.run.gil import SWITCH_SECONDS, loop_first


def test_loop_first_shortens_the_switch_interval_and_restores_it() -> None:
    sys.setswitchinterval(0.005)
    with pytest.raises(RuntimeError), loop_first():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_SECONDS)
        raise RuntimeError("the run failed")
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_overlapping_runs_restore_the_interval_from_before_the_first() -> None:
    sys.setswitchinterval(0.005)
    first, second = loop_first(), loop_first()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first run ends while the second goes on
    assert sys.getswitchinterval() == pytest.approx(SWITCH_SECONDS)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(0.005)
