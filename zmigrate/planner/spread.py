"""Writes of the modules Books and Inventory share, spread over both products' quotas.

An integrated Books + Inventory organization keeps one set of contacts and items, served by
both APIs (a contact created through Books is the same record, with the same id, through
Inventory), while each product has a quota of its own: 100 calls a minute, a daily cap. With
``[target] spread_shared = true`` a step writing contacts or items sends every other batch
(one record each) through the other product, so both quotas carry it. Pure.
"""

from __future__ import annotations

import dataclasses

from zmigrate.manifest import Operation, Product, Target
from zmigrate.planner.model import Phase, PhaseMethod
from zmigrate.planner.pricing import finance_write

SHARED_MODULES = frozenset({"contacts", "items"})
"""Modules an integrated Books + Inventory pair serves through both APIs."""


def spreads(target: Target, product: str, module: str | None) -> bool:
    """True when the writes of ``product``'s ``module`` are spread over both products."""
    finance = product in (Product.BOOKS, Product.INVENTORY)
    return target.spread_shared and finance and module in SHARED_MODULES


def other_product(product: str) -> Product:
    """Books for Inventory, Inventory for Books."""
    return Product.INVENTORY if product == Product.BOOKS else Product.BOOKS


def through(product: str, batch_no: int) -> Product:
    """The product a spread step's batch is written through: the step's own for even
    batches, the other for odd ones."""
    return Product(product) if batch_no % 2 == 0 else other_product(product)


def split(records: int) -> tuple[int, int]:
    """Records through the step's own product and through the other (even batches first)."""
    return (records + 1) // 2, records // 2


def spread_phases(
    product: str, module: str, records: int, target: Target, operation: Operation
) -> tuple[Phase, Phase]:
    """A spread step's writes: through its own product, and through the other."""
    own, other = split(records)
    via = other_product(product)
    why = (
        f"spread_shared: {module} are shared by Books and Inventory; {own:,} through "
        f"{product}, {other:,} through {via} (every other record), each on its own quota"
    )
    return (
        dataclasses.replace(
            finance_write(product, own, target, operation), method=PhaseMethod.SPREAD, reason=why
        ),
        dataclasses.replace(
            finance_write(via, other, target, operation), method=PhaseMethod.SPREAD, reason=why
        ),
    )
