"""What a step holds in memory: batches read only when there is room, bulk files streamed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from zmigrate.checkpoint import Batch, BatchState
from zmigrate.client.bulk import iter_csv, write_outcomes, zip_csv
from zmigrate.manifest import load_manifest
from zmigrate.run.items import Item
from zmigrate.run.scheduler import Feed, Work, read_batches
from zmigrate.run.writers.crm_bulk import CrmBulkWriter, bulk_file, part_of
from zmigrate.run.writers.crm_rest import CrmRestWriter
from zmigrate.sources import SourceRecord

PLANS = Path(__file__).resolve().parent.parent / "plans"


def batches(step: str, size: int, total: int) -> list[Batch]:
    return [
        Batch(step, n, first, min(first + size, total), BatchState.PENDING, 0, False, *[None] * 3)
        for n, first in enumerate(range(0, total, size))
    ]


async def settle(queue: asyncio.Queue[Work], reader: asyncio.Task[None]) -> None:
    """Let the reader run until it waits for room (or is done)."""
    for _ in range(200):
        await asyncio.sleep(0.005)
        if reader.done():
            return


async def test_the_reader_holds_no_more_batches_than_the_step_has_room_for() -> None:
    step = load_manifest(PLANS / "sample.toml").step("accounts")  # 50 records
    queue: asyncio.Queue[Work] = asyncio.Queue()
    room = asyncio.Semaphore(2)
    reader = asyncio.create_task(
        read_batches(step, batches("accounts", 10, 50), Feed(queue, room), lambda: False)
    )
    await settle(queue, reader)
    assert queue.qsize() == 2 and not reader.done()  # the third batch is not even read
    got = [queue.get_nowait() for _ in range(2)]
    room.release()  # one batch settled: room for one more
    await settle(queue, reader)
    assert queue.qsize() == 1 and not reader.done()
    got.append(queue.get_nowait())
    room.release()
    room.release()
    await asyncio.wait_for(reader, 5)
    got += [queue.get_nowait() for _ in range(queue.qsize())]
    rows = [[i.row_no for i in items] for batch, items in (g for g in got if g is not None)]
    assert rows == [list(range(n, n + 10)) for n in range(0, 50, 10)]


def test_a_bulk_step_holds_only_its_jobs_batches() -> None:
    assert CrmBulkWriter.held(3) == 3  # no read-ahead of 25,000-row batches
    assert CrmRestWriter.held(20) > 20  # small batches: a read-ahead keeps every slot fed


def test_a_bulk_file_is_zipped_from_the_items_and_its_result_read_row_by_row() -> None:
    items = [
        Item(n, SourceRecord(n + 2, f"k{n}", ({},)), {"Last_Name": f"N{n}", "Owner": {"id": "7"}})
        for n in range(3)
    ]
    items[1].payload["Tags"] = ["a", "b"]
    file = bulk_file(items)
    assert file.header == ["Last_Name", "Owner", "Tags"]
    assert list(iter_csv(file.data)) == [
        {"Last_Name": "N0", "Owner": "7", "Tags": ""},
        {"Last_Name": "N1", "Owner": "7", "Tags": "a;b"},
        {"Last_Name": "N2", "Owner": "7", "Tags": ""},
    ]
    assert list(file.rows) == [0, 1, 2]
    # a job Zoho forgot, sent again in part once the payloads were let go: from the file
    part = part_of(file, [2, 0])
    assert part.header == file.header and list(part.rows) == [0, 2]
    assert [r["Last_Name"] for r in iter_csv(part.data)] == ["N0", "N2"]
    result = zip_csv(
        ["Last_Name", "STATUS", "RECORD_ID", "ERRORS"],
        [
            {"Last_Name": "N0", "STATUS": "ADDED", "RECORD_ID": "1"},
            {"Last_Name": "", "STATUS": "SKIPPED", "ERRORS": "MANDATORY_NOT_FOUND-Last_Name"},
        ],
    )
    rows = iter_csv(result)
    assert not isinstance(rows, list)  # a generator: rows parsed as they are read
    outcomes = write_outcomes(rows)
    assert [(o.ok, o.id, o.code) for o in outcomes] == [
        (True, "1", "SUCCESS"),
        (False, None, "MANDATORY_NOT_FOUND"),
    ]
