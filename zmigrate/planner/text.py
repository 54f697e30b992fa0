"""How the plan writes numbers and durations in its reasons, warnings and table."""

from __future__ import annotations

from zmigrate import quotas


def fmt(n: float) -> str:
    return f"{n:,.0f}"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * quotas.DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / quotas.DAY:.1f} days"
