"""A local file target: every mapped record of the step into one CSV, renamed into place."""

from __future__ import annotations

import csv
from collections.abc import Sequence

from zmigrate.checkpoint import Batch, StepSpec
from zmigrate.client import Zoho
from zmigrate.manifest import Step
from zmigrate.outcomes import Landed, Verdict
from zmigrate.run.items import Item, csv_cell
from zmigrate.run.writers.base import Writer
from zmigrate.sources import read_columns


def write_file(step: Step, items: Sequence[Item]) -> list[Verdict]:
    """Write ``items`` as the step's whole file (written beside, then renamed into place)."""
    path = step.target.path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    header = list(dict.fromkeys(k for i in items for k in i.payload))
    if not header:  # no records: the columns they would have had
        mapped = [f.target for f in step.fields] + [lk.target for lk in step.lookups]
        header = mapped or read_columns(step.source, step.name)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for item in items:
            writer.writerow([csv_cell(item.payload.get(h)) for h in header])
    tmp.replace(path)
    return [Landed(f"{path.name}:{n + 2}", "written") for n in range(len(items))]


class FileWriter(Writer):
    """The step is one batch: the file is written whole."""

    @classmethod
    def workers(cls, zoho: Zoho, spec: StepSpec) -> int:
        return 1

    @classmethod
    def settle(cls, step: Step, spec: StepSpec) -> None:
        if not spec.total_rows:  # nothing exported: the empty file, with its header
            write_file(step, [])

    async def send(self, batch: Batch, items: Sequence[Item], retried: bool) -> list[Verdict]:
        return write_file(self.target.step, items)
