"""Dead letters go to their file streamed from the run store, a chunk at a time, scrubbed."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import orjson

from zmigrate.checkpoint import RunStore, queries
from zmigrate.checkpoint.hashing import hash_bytes
from zmigrate.checkpoint.records import DeadLetter, StepSpec
from zmigrate.report import write_dead_letters

SECRET = "1000." + "ab12" * 8 + "." + "cd34" * 8
"""A refresh token's shape: the file must never carry it."""


def store_with(run_dir: Path, per_step: int, batch: int = 1_000) -> RunStore:
    steps = [StepSpec(n, "crm", "Leads", "upsert", per_step, batch, "Email") for n in ("a", "b")]
    store = RunStore.create(
        run_dir,
        manifest_path="m.toml",
        manifest_hash=hash_bytes(b"m"),
        source_hashes={},
        plan={"steps": ["a", "b"]},
        steps=steps,
    )
    for batch_no in range(steps[0].batch_count):
        for step in ("a", "b"):  # the steps' refusals interleave, as in a run
            rows = range(batch_no * batch, min(per_step, (batch_no + 1) * batch))
            dead = [
                DeadLetter(step, i + 2, f"{step}{i}", {"name": f"R{i:06}", "note": SECRET},
                           "INVALID_DATA", "invalid data (Email)", batch_no)
                for i in rows
            ]  # fmt: skip
            store.mark_failed(step, batch_no, "refused", dead)
    return store


def test_streamed_in_order_across_chunks_and_steps(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(queries, "DEAD_LETTER_CHUNK", 7)
    store = store_with(tmp_path / "run", per_step=25, batch=10)
    streamed = list(store.iter_dead_letters())
    assert streamed == store.dead_letters() and len(streamed) == 50
    assert [d.source_key for d in store.iter_dead_letters("b")] == [f"b{i}" for i in range(25)]
    path = write_dead_letters(tmp_path / "run", store.iter_dead_letters())
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [(x["step"], x["key"]) for x in lines] == [(d.step, d.source_key) for d in streamed]
    assert SECRET not in path.read_text()  # every line through the scrubber
    store.close()


def test_writing_them_holds_one_chunk_not_the_whole_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(queries, "DEAD_LETTER_CHUNK", 400)
    store = store_with(tmp_path / "run", per_step=4_000)

    def peak(write) -> int:
        tracemalloc.start()
        try:
            write()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed = peak(lambda: write_dead_letters(tmp_path / "run", store.iter_dead_letters()))
    whole = peak(lambda: write_dead_letters(tmp_path / "run", store.dead_letters()))
    store.close()
    # 8,000 letters loaded whole; streamed, 400 at a time
    assert streamed < whole / 4, (streamed, whole)
