"""Zoho CRM v8 for the sandbox: records, COQL, lead conversion, metadata, Bulk Write/Read,
credits and concurrency. The product plug-in is `CrmProduct` (``api.py``); the pure parts
are ``store`` (records and per-record results), ``query`` (COQL and criteria), ``credits``
(rolling 24 h ledger, pools), ``bulk`` (zip/CSV jobs), ``metadata`` and ``wire``.
"""

from zmigrate.sandbox.crm.api import CrmProduct

__all__ = ["CrmProduct"]
