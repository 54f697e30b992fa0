"""Progress while a run goes: a tqdm bar per step and a quota line on a terminal, plain
lines (at most one per step every few seconds) when the output is a log or a pipe.

Rates and ETAs are in real time: what the person waiting experiences. Every line goes through
the scrubber: a note may quote a Zoho error that echoed a token.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn, TextIO

from tqdm import tqdm

from zmigrate.manifest import Product
from zmigrate.scrub import scrub


@dataclass
class _StepLine:
    total: int
    done: int
    base: int  # records settled before this process started
    started: float
    last_line: float
    bar: tqdm[NoReturn] | None = None


def progress_line(name: str, done: int, total: int, elapsed: float, base: int = 0) -> str:
    """One plain progress line: records, share, rate (of this process's work) and ETA."""
    share = f" ({done / total:.0%})" if total else ""
    rate = (done - base) / elapsed * 60 if elapsed > 0 else 0.0
    eta = ""
    if 0 < done < total and rate > 0:
        eta = f", ETA {_clock((total - done) / rate * 60)}"
    return f"{name}: {done}/{total} records{share}, {rate:.1f}/min{eta}"


def quota_line(spend: Mapping[str, tuple[int, int]]) -> str:
    """``product -> (requests, credits)`` as one line; credits only where they exist (CRM)."""
    parts = []
    for product, (requests, credits) in sorted(spend.items()):
        text = f"{product} {requests} req"
        if product == Product.CRM:
            text += f" / {credits} credits"
        parts.append(text)
    return "quota spent: " + (", ".join(parts) if parts else "nothing yet")


class Progress:
    """Per-step bars and a quota line (tty) or throttled plain lines (not a tty).

    On a terminal the quota line sits on top and a bar per running step under it; a step
    that finishes leaves one summary line above the bars (tqdm's kept bars jump around when
    several close out of order).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.now = now
        self.steps: dict[str, _StepLine] = {}
        self._quota_bar: tqdm[NoReturn] | None = None
        self._last_quota = ""
        self._quota_at = now()

    def start_step(self, name: str, total: int, done: int = 0) -> None:
        t = self.now()
        line = _StepLine(total=total, done=done, base=done, started=t, last_line=t)
        if self.tty:
            self._quota_line()  # first, so it keeps the top line
            line.bar = tqdm(
                total=total,
                initial=done,
                desc=name,
                unit="rec",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
        else:
            self._write(f"{name}: starting, {done}/{total} records already done")
        self.steps[name] = line

    def advance(self, name: str, n: int = 1) -> None:
        line = self.steps[name]
        line.done += n
        if line.bar is not None:
            line.bar.update(n)
            return
        t = self.now()
        if t - line.last_line >= self.interval:
            line.last_line = t
            self._write(progress_line(name, line.done, line.total, t - line.started, line.base))

    def finish_step(self, name: str, landed: int, failed: int) -> None:
        line = self.steps[name]
        if line.bar is not None:
            line.bar.close()
            line.bar = None
        took = _clock(self.now() - line.started)
        self.note(f"{name}: finished in {took}: landed {landed}, failed {failed}")

    def quota(self, spend: Mapping[str, tuple[int, int]]) -> None:
        """Show quota spent: live on a terminal, else at most once per interval."""
        text = quota_line(spend)
        if text == self._last_quota:
            return
        self._last_quota = text
        if self.tty:
            self._quota_line().set_description_str(text)
            return
        t = self.now()
        if t - self._quota_at >= self.interval:
            self._quota_at = t
            self._write(text)

    def _quota_line(self) -> tqdm[NoReturn]:
        if self._quota_bar is None:
            self._quota_bar = tqdm(total=0, bar_format="{desc}", file=self.stream, leave=False)
            self._quota_bar.set_description_str(self._last_quota or quota_line({}))
        return self._quota_bar

    def note(self, text: str) -> None:
        """A one-off message (pause, retry storm, reconcile) that must not break the bars."""
        if self.tty:
            tqdm.write(scrub(text), file=self.stream)
        else:
            self._write(text)

    def close(self) -> None:
        """Remove the bars; the last quota line stays."""
        for line in self.steps.values():
            if line.bar is not None:
                line.bar.close()
                line.bar = None
        if self._quota_bar is not None:
            self._quota_bar.close()
            self._quota_bar = None
        if self._last_quota:
            self._write(self._last_quota)
            self._last_quota = ""

    def _write(self, text: str) -> None:
        self.stream.write(scrub(text) + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"
