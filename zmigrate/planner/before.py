"""The price of ``keep_before_images = true``: one read a record before the run updates it.

CRM reads by each key field with COQL, 50 values and 49 fields a query, 1 credit each (a
limit of 200); Books and Inventory find each record by its key and read it by id: two
requests a record, priced as if every record exists (a new record costs only the search).
"""

from __future__ import annotations

import dataclasses
import math

from zmigrate import quotas
from zmigrate.manifest import Product, Step, Target
from zmigrate.planner.model import Phase
from zmigrate.planner.pricing import finance_seconds, latency

KEYS_PER_QUERY = quotas.COQL_IN_VALUES_MAX
FIELDS_PER_QUERY = 49
"""Columns one COQL query selects besides ``id`` (Zoho takes 50)."""


def read_cost(product: str, records: int, fields: int, keys: int = 1) -> tuple[int, int]:
    """(requests, credits) of reading the before-images of ``records`` records (CRM asks
    once per key field: its upsert matches on any of them)."""
    if product == Product.CRM:
        passes = max(1, math.ceil(fields / FIELDS_PER_QUERY))
        queries = math.ceil(records / KEYS_PER_QUERY) * passes * max(1, keys)
        return queries, queries * quotas.coql_credits(quotas.CRM_PAGE_MAX)
    return 2 * records, 0


def with_before_images(write: Phase, step: Step, records: int, target: Target) -> Phase:
    """The step's write phase with its before-image reads added."""
    fields = len({*step.key, *(f.target for f in step.fields), *(lk.target for lk in step.lookups)})
    product = step.target.product
    requests, credits = read_cost(product, records, fields, len(step.key))
    if product == Product.CRM:
        seconds = math.ceil(requests / target.edition.sub_concurrency) * latency(product)
    else:
        seconds = finance_seconds(requests, target.finance_plan(product))
    return dataclasses.replace(
        write,
        requests=write.requests + requests,
        credits=write.credits + credits,
        seconds=write.seconds + seconds,
        reason=f"{write.reason}; +{requests} requests ({credits} credits) to keep before-images",
    )
