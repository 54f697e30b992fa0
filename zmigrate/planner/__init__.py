"""The quota bill of a migration, before it starts: pure arithmetic over the manifest.

:func:`plan` counts every source (one streaming pass per file, see ``sources.scan``), orders
the steps by their lookups, and prices each step in the currency Zoho charges:

- CRM writes: REST batches of at most 100 records (1 credit per 10 records) or Bulk Write
  jobs of at most 25,000 rows (500 credits a job);
- CRM exports: GET pages of 200 (1 credit each; at most 100,000 records) or Bulk Read jobs
  of 200,000 records a page (50 credits a job);
- Books/Inventory: one record per request, list pages of 200; 100 requests a minute and a
  daily cap by plan; no bulk API.

``method = "auto"`` prices both ways and takes the cheaper in time plus credits (see
``planner.method``; the executor reuses :func:`choose_method` so both agree).

Time model (``quotas`` holds the pace assumptions), as the executor runs: ``timeline`` lays
every phase on its product's quota in the run's order (metadata, exports, then each step when
the steps it looks up are done), so a product's time is its whole sequence of calls, windows
carried over from step to step, and the active time is the run's end. Within a phase,
requests run ``concurrency`` at once at ``TYPICAL_LATENCY`` each, Books/Inventory no
faster than 100 in any 60 s window, CRM GET pages one after another (each needs the previous page
token), bulk jobs ``CRM_BULK_JOBS_AT_ONCE`` at a time (queue + rows / pace, seen done at
the next status poll). When a product needs more than its daily cap (requests) or 24 h
budget (credits), the run pauses (exit 3) until the window frees up: ``days`` counts the
windows and the estimate adds the waits of the product that waits longest.

Modules: ``model`` (Phase, StepPlan, ProductTotals, Plan and its JSON), ``json_schema``,
``pricing`` (one phase's bill), ``method`` (choosing a way), ``warnings``, ``bill`` (:func:`plan`),
``text`` (numbers and durations as the plan writes them), ``timeline`` (when each phase runs),
``spread`` (shared Books/Inventory modules over both quotas).
"""

from zmigrate.planner.bill import plan, plan_step
from zmigrate.planner.json_schema import PLAN_JSON_SCHEMA
from zmigrate.planner.method import choose_method
from zmigrate.planner.model import (
    PRODUCT_ORDER,
    SCHEMA_VERSION,
    Phase,
    PhaseKind,
    PhaseMethod,
    Plan,
    ProductTotals,
    StepPlan,
)
from zmigrate.planner.pricing import (
    CRM_GET_FIELDS_MAX,
    bulk_job,
    crm_bulk_read,
    crm_bulk_write,
    crm_rest_read,
    crm_rest_write,
    finance_list,
    finance_seconds,
    finance_write,
    seconds_per_credit,
)
from zmigrate.planner.text import duration

__all__ = [
    "CRM_GET_FIELDS_MAX",
    "PLAN_JSON_SCHEMA",
    "PRODUCT_ORDER",
    "SCHEMA_VERSION",
    "Phase",
    "PhaseKind",
    "PhaseMethod",
    "Plan",
    "ProductTotals",
    "StepPlan",
    "bulk_job",
    "choose_method",
    "crm_bulk_read",
    "crm_bulk_write",
    "crm_rest_read",
    "crm_rest_write",
    "duration",
    "finance_list",
    "finance_seconds",
    "finance_write",
    "plan",
    "plan_step",
    "seconds_per_credit",
]
