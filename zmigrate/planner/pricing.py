"""Pricing one phase in the currency Zoho charges: requests, credits, bulk jobs and seconds.

``quotas`` holds the limits and pace assumptions; each function here is the arithmetic of one
way to read or write ``records`` in one product.
"""

from __future__ import annotations

import math

from zmigrate import quotas
from zmigrate.manifest import Operation, Product, Target
from zmigrate.planner.model import Phase, PhaseMethod

CRM_GET_FIELDS_MAX = 50
"""CRM GET list calls take at most 50 fields; more need another pass over the pages."""


def latency(product: str) -> float:
    return quotas.TYPICAL_LATENCY[product]


def _sizes(records: int, size: int) -> list[int]:
    """The batch sizes ``records`` are cut into: full batches, then the rest."""
    return [size] * (records // size) + ([records % size] if records % size else [])


def finance_seconds(requests: int, plan: quotas.FinancePlan) -> float:
    """Books/Inventory time for ``requests``: at most 100 in any 60 s window.

    Each window's 100 calls go as fast as ``concurrency`` / latency allows, then the next
    window opens 60 s after the first; so 90 calls take 4.5 s and 25,000 take ~4.2 h.
    """
    if requests <= 0:
        return 0.0
    burst = plan.concurrency / latency(plan.product)
    full = (requests - 1) // plan.per_minute
    last = requests - full * plan.per_minute
    return full * max(quotas.MINUTE, plan.per_minute / burst) + last / burst


def rest_write_calls(records: int, concurrency: int, pool: int) -> tuple[int, int]:
    """(write calls, rounds of calls) for ``records`` written as the run writes them.

    Each round the pool's places carry heavy writes of 100 records and the edition's other
    places light writes of 10 (same credits per record); the last round fills heavy first.
    """
    heavy = min(pool, concurrency)
    light = concurrency - heavy
    heavy_max, light_max = quotas.CRM_WRITE_MAX, quotas.CRM_HEAVY_WRITE_OVER
    per_round = heavy * heavy_max + light * light_max
    full, rest = divmod(records, per_round)
    calls = full * concurrency
    if rest:
        in_heavy = min(rest, heavy * heavy_max)
        calls += math.ceil(in_heavy / heavy_max) + math.ceil((rest - in_heavy) / light_max)
    return calls, full + (1 if rest else 0)


def crm_rest_write(records: int, target: Target, operation: str = Operation.UPSERT) -> Phase:
    """CRM writes in batches of 100 (ceil(n/10) credits a batch), each batch's records sent
    by heavy writes in the pool of 10 and light writes of 10 in the edition's other places.

    An update first finds the records' ids: one COQL query (1 credit) per 50 keys a batch.
    """
    size = quotas.CRM_WRITE_MAX
    batches = math.ceil(records / size)
    sizes = _sizes(records, size)
    credits = sum(quotas.write_credits(n) for n in sizes)
    edition = target.edition
    requests, rounds = rest_write_calls(records, edition.concurrency, edition.sub_concurrency)
    finds = 0
    if operation == Operation.UPDATE:
        finds = sum(math.ceil(n / quotas.COQL_IN_VALUES_MAX) for n in sizes)
        requests += finds
        credits += finds * quotas.coql_credits(quotas.CRM_PAGE_MAX)
    seconds = (rounds + finds / edition.concurrency) * latency(Product.CRM)
    return Phase(
        "write",
        Product.CRM,
        PhaseMethod.REST,
        records,
        size,
        batches,
        requests,
        credits,
        0,
        seconds,
    )


def bulk_job(rows: int, pace: float) -> tuple[float, int]:
    """Seconds until a Bulk Read job is seen done, and the status polls that takes.

    The job waits ``BULK_QUEUE_SECONDS`` then runs ``rows / pace``; status is polled at
    once and then on the client's growing schedule, so a job is seen done a little late.
    """
    done = quotas.BULK_QUEUE_SECONDS + rows / pace
    seen, polls, delay = 0.0, 1, quotas.BULK_POLL_FIRST
    while seen < done:
        seen += delay
        polls += 1
        delay = min(quotas.BULK_POLL_MAX, delay * quotas.BULK_POLL_FACTOR)
    return seen, polls


def bulk_write_job(rows: int) -> tuple[float, int]:
    """Seconds until a Bulk Write job is seen done, and the status polls that takes.

    The client polls at the predicted finish (``quotas.bulk_write_poll_wait``, a little
    after it): a job running at the assumed pace is seen done by its first poll.
    """
    pace = quotas.BULK_WRITE_ROWS_PER_SECOND
    done = quotas.BULK_QUEUE_SECONDS + rows / pace
    at, statuses = 0.0, list[tuple[float, int]]()
    while True:
        at += quotas.bulk_write_poll_wait(rows, at, statuses)
        if at >= done:
            return at, len(statuses) + 1
        statuses.append((at, min(rows, round((at - quotas.BULK_QUEUE_SECONDS) * pace))))


def _bulk_rounds(job_seconds: list[float]) -> float:
    """Jobs run ``CRM_BULK_JOBS_AT_ONCE`` at a time, in order: each round waits for its slowest."""
    at_once = quotas.CRM_BULK_JOBS_AT_ONCE
    return sum(max(job_seconds[i : i + at_once]) for i in range(0, len(job_seconds), at_once))


def crm_bulk_write(records: int, target: Target) -> Phase:
    """Bulk Write: one job per 25,000-row file: upload, create (500 credits), polls, result.

    Every call but the create costs 1 credit, as any CRM call does.
    """
    size = quotas.CRM_BULK_WRITE_ROWS
    jobs = math.ceil(records / size)
    runs = [bulk_write_job(n) for n in _sizes(records, size)]
    requests = sum(3 + polls for _, polls in runs)
    credits = jobs * quotas.CREDITS_BULK_WRITE + (requests - jobs) * quotas.CREDITS_GET
    seconds = _bulk_rounds([seen + 3 * latency(Product.CRM) for seen, _ in runs])
    return Phase(
        "write",
        Product.CRM,
        PhaseMethod.BULK,
        records,
        size,
        jobs,
        requests,
        credits,
        jobs,
        seconds,
    )


def crm_rest_read(records: int, target: Target, fields: int = 1) -> Phase:
    """GET pages of 200 (1 credit each), one after another; > 50 fields need more passes."""
    size = quotas.CRM_PAGE_MAX
    passes = max(1, math.ceil(fields / CRM_GET_FIELDS_MAX))
    pages = max(1, math.ceil(records / size)) * passes
    return Phase(
        "read",
        Product.CRM,
        PhaseMethod.REST_PAGES,
        records,
        size,
        pages,
        pages,
        pages * quotas.CREDITS_GET,
        0,
        pages * latency(Product.CRM),
    )


def crm_bulk_read(records: int, target: Target) -> Phase:
    """Bulk Read: one job per 200,000-record page: create (50 credits), polls, download."""
    size = quotas.CRM_BULK_READ_PAGE
    jobs = max(1, math.ceil(records / size))
    runs = [bulk_job(n, quotas.BULK_READ_ROWS_PER_SECOND) for n in _sizes(records, size) or [0]]
    requests = sum(2 + polls for _, polls in runs)
    credits = jobs * quotas.CREDITS_BULK_READ + (requests - jobs) * quotas.CREDITS_GET
    seconds = _bulk_rounds([seen + 2 * latency(Product.CRM) for seen, _ in runs])
    return Phase(
        "read",
        Product.CRM,
        PhaseMethod.BULK_READ,
        records,
        size,
        jobs,
        requests,
        credits,
        jobs,
        seconds,
    )


def finance_write(
    product: str, records: int, target: Target, operation: str = Operation.UPSERT
) -> Phase:
    """Books/Inventory writes: one record per request (no bulk API); an update first finds it.

    Insert and upsert assume new records; each one that already exists costs an upsert two
    more requests (find, update).
    """
    plan = target.finance_plan(product)
    requests = records * (2 if operation == Operation.UPDATE else 1)
    seconds = finance_seconds(requests, plan)
    return Phase(
        "write", Product(product), PhaseMethod.REST, records, 1, records, requests, 0, 0, seconds
    )


def finance_list(product: str, records: int, target: Target) -> Phase:
    """Books/Inventory list pages of 200."""
    plan = target.finance_plan(product)
    pages = max(1, math.ceil(records / quotas.BOOKS_PAGE_MAX))
    return Phase(
        "read",
        Product(product),
        PhaseMethod.LIST_PAGES,
        records,
        quotas.BOOKS_PAGE_MAX,
        pages,
        pages,
        0,
        0,
        finance_seconds(pages, plan),
    )


def seconds_per_credit(target: Target) -> float:
    """What a credit is worth in time: how long the 24 h window takes to give one back."""
    budget = target.crm_daily_credits
    return 0.0 if budget is None else quotas.DAY / budget
