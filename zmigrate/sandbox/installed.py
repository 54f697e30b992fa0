"""The products the sandbox serves: the one list a new product adds itself to."""

from __future__ import annotations

from zmigrate.sandbox.core import Product
from zmigrate.sandbox.crm import CrmProduct
from zmigrate.sandbox.finance import BooksProduct, InventoryProduct

INSTALLED: tuple[type[Product], ...] = (
    BooksProduct,
    InventoryProduct,
    CrmProduct,
)
