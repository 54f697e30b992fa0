"""Deterministic faults and latency, so a rehearsal's bad luck can be replayed with ``--seed``.

Per API request (after admission, before the handler) one draw decides:

- ``fault_rate`` F: with probability F the request meets a fault; half of those are an
  internal error (HTTP 500, Books code 1000, CRM INTERNAL_ERROR) answered *before* the handler
  touches stored data, a quarter a connection reset before the handler, a quarter a slow
  response (``slow_ms`` extra Zoho milliseconds, then served normally);
- ``lost_response_rate`` L (default 0, a separate knob): the handler runs and commits, then the
  connection is reset, so the client never sees the answer. Real networks do this; a client's
  exactly-once logic must survive it (look the record up before writing it again);
- latency: log-normal around a median of ``latency_ms`` Zoho milliseconds (sigma
  ``LATENCY_SIGMA``), slept on the sandbox clock so it shrinks with ``--clock-speed``.

The same seed and the same order of requests give the same faults.
"""

from __future__ import annotations

import enum
import math
import random

from zmigrate.quotas import LATENCY_SPREAD

LATENCY_SIGMA = LATENCY_SPREAD
"""Spread of the log-normal latency: about 2/3 of calls within x0.7..x1.4 of the median (the
planner assumes the same of real Zoho)."""


class Fault(enum.Enum):
    NONE = "none"
    INTERNAL_ERROR = "internal_error"
    RESET = "reset"
    SLOW = "slow"
    LOST_RESPONSE = "lost_response"


class Faults:
    """The seeded source of faults and latencies; knobs can change while running."""

    def __init__(
        self,
        seed: int,
        fault_rate: float = 0.0,
        lost_response_rate: float = 0.0,
        latency_ms: float = 0.0,
        slow_ms: float = 5_000.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.lost_response_rate = lost_response_rate
        self.latency_ms = latency_ms
        self.slow_ms = slow_ms

    def draw(self) -> Fault:
        """The fault (or none) for the next request."""
        if self.fault_rate > 0:
            r = self.rng.random()
            if r < self.fault_rate:
                share = r / self.fault_rate
                if share < 0.5:
                    return Fault.INTERNAL_ERROR
                return Fault.RESET if share < 0.75 else Fault.SLOW
        if self.lost_response_rate > 0 and self.rng.random() < self.lost_response_rate:
            return Fault.LOST_RESPONSE
        return Fault.NONE

    def latency(self) -> float:
        """Zoho seconds this request takes on the wire (0 when latency is off)."""
        if self.latency_ms <= 0:
            return 0.0
        return self.latency_ms / 1000.0 * math.exp(self.rng.gauss(0.0, LATENCY_SIGMA))

    def settings(self) -> dict[str, float]:
        return {
            "fault_rate": self.fault_rate,
            "lost_response_rate": self.lost_response_rate,
            "latency_ms": self.latency_ms,
            "slow_ms": self.slow_ms,
        }
