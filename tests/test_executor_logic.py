"""Pure decisions of the executor, its report and its progress lines (no network)."""

from __future__ import annotations

import io

import orjson

from zmigrate.checkpoint import DeadLetter
from zmigrate.client.models import RecordOutcome
from zmigrate.errors import (
    AuthError,
    ConcurrencyLimited,
    NetworkError,
    QuotaExhausted,
    RequestRejected,
    ServerError,
    Throttled,
)
from zmigrate.outcomes import (
    Again,
    Landed,
    Pause,
    Reject,
    Stop,
    chunked,
    decide,
    ready_steps,
    record_outcome,
)
from zmigrate.progress import Progress, progress_line, quota_line
from zmigrate.report import (
    ProductSpend,
    RunReport,
    StepReport,
    write_dead_letters,
    write_report,
)
from zmigrate.run.batch import STORE_SLICE, in_slices


def test_ready_steps_wait_for_dependencies_and_keep_manifest_order():
    order = ["accounts", "items", "contacts", "deals"]
    deps = {"contacts": ["accounts"], "deals": ["accounts", "contacts"]}
    assert ready_steps(order, deps, set(), set()) == ["accounts", "items"]
    assert ready_steps(order, deps, {"accounts"}, {"accounts", "items"}) == ["contacts"]
    assert ready_steps(order, deps, {"accounts", "contacts"}, {"accounts", "contacts"}) == [
        "items",
        "deals",
    ]


def test_chunked():
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 3)) == []


def test_decide_per_error_class():
    assert isinstance(decide(QuotaExhausted("45", resets_at=99.0)), Pause)
    assert decide(QuotaExhausted("45", resets_at=99.0)).resets_at == 99.0
    rejected = decide(RequestRejected("bad", code="INVALID_DATA"))
    assert rejected == Reject("INVALID_DATA", "bad")
    assert isinstance(decide(AuthError("no", code="INVALID_TOKEN")), Stop)
    # transient failures reach the run only once the transport has spent its sends: stop
    for exc in (
        Throttled("44", code=44),
        ConcurrencyLimited("1070", code=1070),
        Throttled("too many", code="TOO_MANY_REQUESTS"),
        ServerError("500", status=500, retry_after=7.0),
        NetworkError("reset"),
    ):
        assert isinstance(decide(exc), Stop)


def test_record_outcomes():
    ok = RecordOutcome(0, True, "42", "update", "SUCCESS")
    assert record_outcome(ok, retried=False) == Landed("42", "update")
    bad = RecordOutcome(
        0, False, code="INVALID_DATA", message="invalid data", details={"api_name": "Email"}
    )
    assert record_outcome(bad, retried=False) == Reject("INVALID_DATA", "invalid data (Email)")
    dup = RecordOutcome(
        0,
        False,
        code="DUPLICATE_DATA",
        message="duplicate data",
        details={"api_name": "Email", "duplicate_record": {"id": "7"}},
    )
    assert isinstance(record_outcome(dup, retried=False), Reject)
    assert record_outcome(dup, retried=True) == Landed("7", "adopted")
    busy = RecordOutcome(0, False, code="INTERNAL_ERROR", message="oops")
    assert isinstance(record_outcome(busy, retried=False), Again)
    skipped = RecordOutcome(
        0, False, code="MANDATORY_NOT_FOUND", message="MANDATORY_NOT_FOUND in Last_Name"
    )
    verdict = record_outcome(skipped, retried=False)
    assert isinstance(verdict, Reject) and verdict.code == "MANDATORY_NOT_FOUND"
    assert "Last_Name" in verdict.message
    unprocessed = RecordOutcome(0, False, code="UNPROCESSED", message="UNPROCESSED")
    assert isinstance(record_outcome(unprocessed, retried=False), Again)


def _step(**kw):
    base = dict(
        name="contacts",
        product="books",
        module="contacts",
        method="rest",
        records=120,
        landed=100,
        failed=5,
        requests=110,
        planned_requests=120,
        seconds=120.0,
    )
    base.update(kw)
    return StepReport(**base)


def test_report_json_and_render(tmp_path):
    step = _step()
    crm = _step(name="leads", product="crm", module="Leads", credits=12, planned_credits=12)
    report = RunReport(
        run_dir=str(tmp_path),
        manifest="plans/sample.toml",
        outcome="failed_records",
        message="10 records failed; see dead letters",
        steps=(step, crm),
        spend=(ProductSpend("books", 110, 0, 120), ProductSpend("crm", 110, 12, 120, 12)),
        zoho_seconds=130.0,
        real_seconds=2.0,
        clock_speed=60,
        dead_letter_file=str(tmp_path / "dead_letters.jsonl"),
    )
    assert report.exit_code == 1 and report.landed == 200 and report.failed == 10
    data = orjson.loads(write_report(tmp_path, report).read_bytes())
    assert data["steps"][0]["pending"] == 15
    assert data["steps"][0]["pace"] == {
        "kind": "calls_per_window",
        "value": 55.0,  # 110 calls over the 2 windows its 120 s touched
        "limit": 100,
        "jobs": 0,
    }
    assert data["exit_code"] == 1
    text = report.render()
    assert "contacts" in text and "55/window" in text and "12/12" in text
    assert "dead letters" in text


def test_progress_lines_plain_mode_are_throttled():
    out = io.StringIO()
    t = [0.0]
    prog = Progress(out, tty=False, interval=5.0, now=lambda: t[0])
    prog.start_step("contacts", 100)
    prog.advance("contacts", 10)
    t[0] = 6.0
    prog.advance("contacts", 20)
    prog.quota({"books": (30, 0)})
    prog.finish_step("contacts", 30, 0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("contacts: starting")
    assert lines[1].startswith("contacts: 30/100 records (30%), 300.0/min, ETA 0m14s")
    assert "quota spent: books 30 req" in lines[2]
    assert "landed 30" in lines[3]
    assert len(lines) == 4


def test_progress_tty_mode_uses_bars():
    out = io.StringIO()
    prog = Progress(out, tty=True)
    prog.start_step("deals", 10)
    prog.advance("deals", 10)
    prog.quota({"crm": (3, 3)})
    prog.finish_step("deals", 10, 0)
    prog.close()
    assert "deals" in out.getvalue() and "3 credits" in out.getvalue()


def test_line_helpers():
    assert progress_line("x", 0, 0, 0.0) == "x: 0/0 records, 0.0/min"
    assert quota_line({}) == "quota spent: nothing yet"
    # a resumed step's rate counts only this process's records
    assert progress_line("x", 150, 200, 60.0, base=100) == (
        "x: 150/200 records (75%), 50.0/min, ETA 1m00s"
    )


def test_dead_letter_file_has_one_refusal_a_line_private(tmp_path):
    letters = [
        DeadLetter("contacts", 7, "C3", {"email": "x"}, "INVALID_DATA", "invalid data (Email)"),
        DeadLetter("deals", 4, "D2", {"rows": [{"a": 1}, {"a": 2}]}, "MAPPING", "Stage: ..."),
    ]
    path = write_dead_letters(tmp_path, letters)
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines[0] == {
        "step": "contacts",
        "line": 7,
        "key": "C3",
        "code": "INVALID_DATA",
        "message": "invalid data (Email)",
        "row": {"email": "x"},
    }
    assert lines[1]["row"]["rows"][1] == {"a": 2}
    assert path.stat().st_mode & 0o077 == 0


async def test_store_lookups_of_a_big_batch_go_in_slices() -> None:
    """One store thread serves every step: a 2,500-key look-up is three calls of at most
    1,000 keys, so other products' calls fit between them; answers come back in order."""
    asked: list[list[str]] = []

    async def ask(keys: list[str]) -> set[str]:
        asked.append(keys)
        return set(keys[:1])

    keys = [f"k{i}" for i in range(2_500)]
    answers = await in_slices(ask, keys)
    assert [len(a) for a in asked] == [STORE_SLICE, STORE_SLICE, 500]
    assert sum(asked, []) == keys and answers == [{"k0"}, {"k1000"}, {"k2000"}]
    assert await in_slices(ask, []) == []
