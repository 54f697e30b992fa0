"""The JSON Schema of ``zmigrate plan --json``, kept beside the model it describes."""

from __future__ import annotations

from typing import Any, get_args

from zmigrate.manifest import OnDuplicateKey, Operation
from zmigrate.planner.model import PRODUCT_ORDER, SCHEMA_VERSION, PhaseKind, PhaseMethod
from zmigrate.planner.setup import SetupKind


def _obj(props: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required or props)}


_INT = {"type": "integer", "minimum": 0}
_NUM = {"type": "number", "minimum": 0}
_STR = {"type": "string"}
_PHASE_SCHEMA = _obj(
    {
        "kind": {"enum": list(get_args(PhaseKind))},
        "product": {"enum": list(PRODUCT_ORDER)},
        "method": {"enum": [m.value for m in PhaseMethod]},
        "records": _INT,
        "batch_size": _INT,
        "batches": _INT,
        "requests": _INT,
        "credits": _INT,
        "bulk_jobs": _INT,
        "seconds": _NUM,
        "reason": _STR,
        "bytes": _INT,
    }
)
PLAN_JSON_SCHEMA: dict[str, Any] = _obj(
    {
        "schema": {"const": SCHEMA_VERSION},
        "manifest": _STR,
        "target": _obj(
            {
                "data_center": _STR,
                "crm_edition": _STR,
                "crm_users": _INT,
                "crm_daily_credits": {"type": ["integer", "null"]},
                "crm_concurrency": _INT,
                "books_plan": _STR,
                "books_daily_limit": _INT,
                "inventory_plan": _STR,
                "inventory_daily_limit": _INT,
            }
        ),
        "steps": {
            "type": "array",
            "items": _obj(
                {
                    "name": _STR,
                    "target": _STR,
                    "operation": {"enum": [o.value for o in Operation]},
                    "source": _STR,
                    "rows": _INT,
                    "records": _INT,
                    "records_estimated": {"type": "boolean"},
                    "depends_on": {"type": "array", "items": _STR},
                    "method": _STR,
                    "batches": _INT,
                    "requests": _INT,
                    "credits": _INT,
                    "bulk_jobs": _INT,
                    "seconds": _NUM,
                    "phases": {"type": "array", "items": _PHASE_SCHEMA},
                    "on_duplicate_key": {"enum": [o.value for o in OnDuplicateKey]},
                    "duplicate_keys": _INT,
                    "starts_at": _NUM,
                    "ends_at": _NUM,
                }
            ),
        },
        "totals": {
            "type": "object",
            "propertyNames": {"enum": list(PRODUCT_ORDER)},
            "additionalProperties": _obj(
                {
                    "plan": _STR,
                    "requests": _INT,
                    "credits": _INT,
                    "bulk_jobs": _INT,
                    "seconds": _NUM,
                    "days": _INT,
                    "daily_limit": {"type": ["integer", "null"]},
                    "concurrency": _INT,
                    "wait_seconds": _NUM,
                    "fits": {"type": "boolean"},
                    "starts_at": _NUM,
                }
            ),
        },
        "estimated_seconds": _NUM,
        "days": _INT,
        "token_refreshes": _INT,
        "warnings": {"type": "array", "items": _STR},
        "scopes": {"type": "array", "items": _STR},
        "setup": {
            "type": "array",
            "items": _obj(
                {
                    "kind": {"enum": [k.value for k in SetupKind]},
                    "product": {"enum": list(PRODUCT_ORDER)},
                    "requests": _INT,
                    "credits": _INT,
                    "reason": _STR,
                }
            ),
        },
        "spread_shared": {
            "oneOf": [
                {"type": "null"},
                _obj(
                    {
                        "on": {"type": "boolean"},
                        "other_way": _obj(
                            {
                                "spread_shared": {"type": "boolean"},
                                "estimated_seconds": _NUM,
                                "totals": {
                                    "type": "object",
                                    "propertyNames": {"enum": list(PRODUCT_ORDER)},
                                    "additionalProperties": _obj(
                                        {"requests": _INT, "seconds": _NUM}
                                    ),
                                },
                            }
                        ),
                    }
                ),
            ]
        },
    }
)
"""JSON Schema (draft 2020-12) of ``Plan.to_dict()``; the README documents each field."""
