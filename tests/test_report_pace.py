"""The report's pace figures (issue 12): per product, calls per full window while it had work
ready; per step, figures that cannot exceed the cap they judge. Pure."""

from __future__ import annotations

import pytest

from zmigrate.report import ProductSpend, RunReport, StepReport
from zmigrate.report_pace import (
    PaceKind,
    ProductPace,
    full_windows,
    machine_seconds,
    merge_spans,
    paced_by_machine,
    step_pace,
)


def _burst(start: float, calls: int, gap: float = 0.05) -> list[float]:
    return [start + i * gap for i in range(calls)]


def test_full_windows_count_only_while_the_product_had_work_ready():
    # 100 calls a window for 3 windows, a 2-window wait for a looked-up step, 2 more windows
    sends = [*_burst(0, 100), *_burst(60.2, 100), *_burst(120.4, 100)]
    sends += [*_burst(300, 100), *_burst(360.2, 50)]
    ready = [(0.0, 126.0), (300.0, 365.0)]  # nothing of it could run from 126 s to 300 s
    calls, windows = full_windows(sends, ready)
    # windows from the first call, before the last: [0,60) [60,120) [300,360) with work
    assert (calls, windows) == (300, 3)
    pace = ProductPace("books", len(sends), 365.0, 360.0, calls, windows)
    assert pace.fill == pytest.approx(1.0)
    assert pace.estimate_ratio == pytest.approx(360 / 365)


def test_a_gap_in_ready_work_is_not_counted_against_the_product():
    sends = [*_burst(0, 100), *_burst(130, 100), 250.0]
    assert full_windows(sends, [(0, 260)]) == (200, 4)  # [60,120) and [180,240) were empty
    assert full_windows(sends, [(0, 10), (120, 185), (240, 260)]) == (100, 1)


def test_merge_spans_joins_overlaps():
    assert merge_spans([(5, 9), (0, 3), (2, 4), (9, 12)]) == [(0, 4), (5, 12)]


def test_a_books_step_sharing_windows_never_shows_more_than_the_cap():
    # items: 150 calls over 63 s (100, then 50 a minute later): its rate/min read 142.9
    pace = step_pace("inventory", "rest", 150, 63.0, 8.0, 10, 150, 150)
    assert pace is not None and pace.kind is PaceKind.WINDOWS
    assert pace.value == pytest.approx(75.0) and pace.value <= pace.limit
    assert pace.text() == "75/window"


def test_crm_rest_in_flight_is_not_floored_at_a_minute():
    # 40 calls of 0.8 s, 20 at a time, over 1.6 s: 20 in flight (was 40 / 60 s of 20 places)
    pace = step_pace("crm", "rest", 40, 1.6, 32.0, 20, 4_000, 40)
    assert pace is not None and pace.kind is PaceKind.IN_FLIGHT
    assert pace.value == pytest.approx(20.0) and pace.text() == "20.0 of 20 in flight"


def test_bulk_steps_are_judged_by_jobs_and_rows_per_second():
    pace = step_pace("crm", "bulk", 9, 20.0, 5.0, 20, 30_000, 2)
    assert pace is not None and pace.kind is PaceKind.BULK
    assert pace.value == pytest.approx(1_500.0) and pace.text() == "2 jobs, 1,500 rows/s"
    assert step_pace("crm", "bulk", 0, 0.0, 0.0, 20, 0, 0) is None


def test_report_prints_estimate_against_actual_per_product(tmp_path):
    step = StepReport("items", "inventory", "items", "rest", 150, 150, 0, 150, 150, 0, 0, 63.0)
    report = RunReport(
        run_dir=str(tmp_path),
        manifest="m.toml",
        outcome="done",
        message="every record landed",
        steps=(step,),
        spend=(ProductSpend("inventory", 150, 0, 150),),
        products=(ProductPace("inventory", 150, 63.0, 61.0, 100, 1),),
    )
    text = report.render()
    assert "75/window" in text and "rate/min" not in text
    assert "inventory: 150 calls, first to last 1m03s, plan 1m01s (estimate ÷ actual 0.97)" in text
    assert "this machine" not in text  # within 5 % of the plan: nothing to explain
    assert "1 full windows with work ready, at 100% of 100" in text
    data = report.to_json()
    assert data["products"][0]["fill"] == 1.0  # type: ignore[index]
    assert data["products"][0]["estimate_ratio"] == pytest.approx(0.968)  # type: ignore[index]


def test_an_overrun_the_machines_own_work_accounts_for_is_put_on_the_machine():
    # 0.4 s of CPU at clock x60 is 24 Zoho seconds that real Zoho's pace does not have
    machine = machine_seconds(0.4, 60.0)
    assert machine == pytest.approx(24.0)
    assert paced_by_machine(2.0, 25.0, machine)  # 23 s over: the machine's work covers it
    assert not paced_by_machine(2.0, 2.05, machine)  # within 5 %: nothing to explain
    assert not paced_by_machine(2.0, 60.0, machine)  # 58 s over: more than the machine did
    assert not paced_by_machine(None, 25.0, machine)


def test_report_says_when_the_machine_paced_a_rehearsal(tmp_path):
    report = RunReport(
        run_dir=str(tmp_path),
        manifest="sample.toml",
        outcome="done",
        message="every record landed",
        steps=(),
        zoho_seconds=70.0,
        real_seconds=1.2,
        clock_speed=60.0,
        products=(
            ProductPace("books", 91, 57.7, 2.0),
            ProductPace("crm", 7, 1.3, 1.28),
        ),
        cpu_seconds=1.1,
    )
    text = report.render()
    books = "books: 91 calls, first to last 57.7s, plan 2.0s (estimate ÷ actual 0.03: paced by"
    assert books + " this machine, not by Zoho)" in text
    assert "crm: 7 calls, first to last 1.3s, plan 1.3s (estimate ÷ actual 0.98)" in text
    assert "this machine: 1.1s of CPU in this process = 1m06s Zoho time at clock speed 60" in text
    data = report.to_json()
    assert [p["paced_by_machine"] for p in data["products"]] == [True, False]  # type: ignore[attr-defined]
    assert data["machine_seconds"] == pytest.approx(66.0)
