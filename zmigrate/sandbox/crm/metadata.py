"""Org, users, modules and fields metadata as Zoho's GET answers show them (`catalog`).

Zoho's OpenAPI files mark dozens of keys as required on a module or a field; the templates
below carry every one of them (with neutral values), and the catalogue fills in what is
real: names, data types, mandatory, unique, lookups, picklists, lengths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zmigrate import quotas

from . import wire
from .catalog import OrgField, OrgModule

_MINI = {"api_name": None, "id": None}
MODULE_TEMPLATE: dict[str, Any] = {
    "common.search_supported": True,
    "deletable": True,
    "description": None,
    "creatable": True,
    "recycle_bin_on_delete": True,
    "inventory_template_supported": False,
    "modified_time": None,
    "plural_label": None,
    "presence_sub_menu": False,
    "triggers_supported": True,
    "id": "",
    "chart_view": False,
    "isBlueprintSupported": True,
    "visibility": 1,
    "visible": True,
    "convertable": False,
    "editable": True,
    "emailTemplate_support": True,
    "email_parser_supported": False,
    "filter_supported": True,
    "show_as_tab": True,
    "web_link": None,
    "sequence_number": 0,
    "singular_label": None,
    "viewable": True,
    "api_supported": True,
    "api_name": None,
    "quick_create": True,
    "generated_type": "default",
    "feeds_required": False,
    "scoring_supported": True,
    "webform_supported": True,
    "arguments": [],
    "module_name": "",
    "chart_view_supported": True,
    "profile_count": 1,
    "business_card_field_limit": 5,
    "track_current_data": False,
    "modified_by": {"name": "", "id": None},
    "profiles": [],
    "parent_module": None,
    "activity_badge": None,
    "$field_states": [],
    "business_card_fields": [],
    "per_page": quotas.CRM_PAGE_MAX,
    "$properties": [],
    "$on_demand_properties": [],
    "search_layout_fields": [],
    "kanban_view_supported": True,
    "lookup_field_properties": {"fields": []},
    "kanban_view": False,
    "related_lists": [],
    "filter_status": True,
    "related_list_properties": {"sort_by": dict(_MINI), "fields": [], "sort_order": None},
    "display_field": None,
    "layouts": [],
    "fields": [],
    "custom_view": {},
    "zia_view": False,
    "default_mapping_fields": [],
    "layout_associations": [],
}

FIELD_TEMPLATE: dict[str, Any] = {
    "associated_module": dict(_MINI),
    "data_type": "",
    "operation_type": {
        "web_update": True,
        "api_create": True,
        "web_create": True,
        "api_update": True,
    },
    "system_mandatory": False,
    "webhook": True,
    "blueprint_supported": False,
    "virtual_field": False,
    "field_read_only": False,
    "customizable_properties": [],
    "read_only": False,
    "custom_field": False,
    "businesscard_supported": True,
    "filterable": True,
    "visible": True,
    "available_in_user_layout": True,
    "display_field": False,
    "pick_list_values_sorted_lexically": False,
    "sortable": True,
    "layout_associations": [],
    "separator": False,
    "searchable": True,
    "enable_colour_code": False,
    "mass_update": True,
    "json_type": "string",
    "created_source": "default",
    "type": "used",
    "display_label": "",
    "column_name": "",
    "api_name": "",
    "display_type": -1,
    "ui_type": 1,
    "colour_code_enabled_by_system": None,
    "length": 255,
    "decimal_place": None,
    "quick_sequence_number": "1",
    "email_parser": {"fields_update_supported": None, "record_operations_supported": None},
    "rollup_summary": None,
    "refer_from_field": {"id": None, "api_name": None},
    "created_time": None,
    "modified_time": None,
    "show_type": 7,
    "category": 0,
    "id": "",
    "multi_module_lookup": None,
    "sharing_properties": {},
    "currency": None,
    "file_upolad_optionlist": [],
    "lookup": None,
    "profiles": [],
    "view_type": {"view": True, "edit": True, "quick_create": False, "create": True},
    "unique": {},
    "sub_module": dict(_MINI),
    "subform": None,
    "external": {"show": None, "type": None},
    "formula": None,
    "convert_mapping": {},
    "multiselectlookup": None,
    "multiuserlookup": {
        "display_label": None,
        "linking_module": dict(_MINI),
        "connected_module": dict(_MINI),
        "lookup_apiname": None,
        "api_name": None,
        "connectedfield_apiname": None,
        "connectedlookup_apiname": None,
        "id": None,
        "record_access": None,
    },
    "autonumber": {
        "starting_number_length": 0,
        "prefix": None,
        "suffix": None,
        "start_number": None,
    },
    "auto_number": None,
    "pick_list_values": [],
    "crypt": {"mode": None, "status": None},
    "tooltip": {"name": "", "value": ""},
    "history_tracking": {"module": {}, "duration_configured_field": dict(_MINI)},
    "association_details": {"related_field": dict(_MINI), "lookup_field": dict(_MINI)},
    "allowed_modules": [],
    "additional_column": None,
    "field_label": "",
    "common.picklist": None,
    "hipaa_compliance_enabled": False,
    "hipaa_compliance": {"restricted_in_export": None, "restricted": None},
    "_update_existing_records": False,
    "number_separator": False,
    "textarea": {},
    "static_field": False,
}


def field_id(mod: OrgModule, index: int) -> str:
    return str(wire.ID_BASE + 1_000_000 + 1_000 * (int(mod.id) - wire.ID_BASE - 100) + index)


def field_json(
    mod: OrgModule, f: OrgField, modified: str, modules: Mapping[str, OrgModule]
) -> dict[str, Any]:
    """One field as ``GET /crm/v8/settings/fields?module=`` shows it: the template, then
    what Zoho derives, then the field's own metadata (a snapshot's keys win as given)."""
    meta = f.meta
    fid = str(meta.get("id") or field_id(mod, mod.fields.index(f)))
    label = str(meta.get("field_label") or f.api_name.replace("_", " "))
    ops = {**FIELD_TEMPLATE["operation_type"], **(meta.get("operation_type") or {})}
    out = {
        **FIELD_TEMPLATE,
        "field_label": label,
        "display_label": label,
        "column_name": f.api_name.upper(),
        "id": fid,
        "display_field": f.api_name == mod.display_field,
        "created_source": "crm" if f.custom else "default",
        "created_time": modified,
        "modified_time": modified,
        **meta,
        "operation_type": {**ops, "web_create": ops["api_create"], "web_update": ops["api_update"]},
        "field_read_only": bool(meta.get("read_only")),
    }
    lookup = meta.get("lookup") or {}
    target = modules.get(f.lookup or "")
    if lookup and target is not None:
        out["lookup"] = {
            "display_label": target.singular,
            "api_name": f.api_name,
            "id": fid,
            "query_details": {},
            "revalidate_filter_during_edit": False,
            "show_fields": [],
            **lookup,
            "module": {"api_name": target.api_name, "id": target.id, **lookup["module"]},
        }
    out["pick_list_values"] = [
        {
            "colour_code": None,
            "type": "used",
            "id": str(wire.ID_BASE + 50_000 + i),
            "sequence_number": i + 1,
            "reference_value": v.get("actual_value"),
            **v,
        }
        for i, v in enumerate(meta.get("pick_list_values") or ())
    ]
    return out


def module_json(
    mod: OrgModule, index: int, user: Mapping[str, Any], modified: str
) -> dict[str, Any]:
    """One module as ``GET /crm/v8/settings/modules`` shows it."""
    return {
        **MODULE_TEMPLATE,
        "id": mod.id,
        "convertable": mod.api_name == "Leads",
        "sequence_number": index + 1,
        "modified_time": modified,
        "modified_by": {"name": user["full_name"], "id": user["id"]},
        **mod.meta,
        "display_field": {"api_name": mod.display_field},
    }


def org_json(org_id: str, user: dict[str, str], edition: str, users: int) -> dict[str, Any]:
    """The org as ``GET /crm/v8/org`` shows it."""
    return {
        "country": "India",
        "photo_id": None,
        "city": None,
        "description": None,
        "mc_status": False,
        "gapps_enabled": False,
        "translation_enabled": False,
        "street": None,
        "domain_name": f"org{org_id}",
        "alias": None,
        "currency": "US Dollar - USD",
        "id": str(wire.ID_BASE + 1),
        "state": None,
        "fax": None,
        "zip": None,
        "currency_symbol": "$",
        "mobile": None,
        "currency_locale": "en_US",
        "primary_zuid": user["id"],
        "zia_portal_id": None,
        "time_zone": wire.ORG_TIME_ZONE,
        "zgid": org_id,
        "country_code": "IN",
        "deletable_org_account": False,
        "license_details": {
            "paid_expiry": "2099-12-31T00:00:00+05:30",
            "users_license_purchased": users,
            "trial_type": None,
            "trial_expiry": None,
            "paid": edition != "free",
            "paid_type": edition,
            "trial_action": "",
        },
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "phone": "",
        "company_name": "zmigrate sandbox",
        "privacy_settings": False,
        "primary_email": user["email"],
        "iso_code": "USD",
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "max_per_page": quotas.CRM_PAGE_MAX,
        "ezgid": org_id,
        "call_icon": "",
        "oauth_presence": True,
        "zia_zgid": int(org_id),
        "checkin_preferences": {"restricted_event_types": None},
        "type": "Production",
    }


def user_json(meta: Mapping[str, Any], created: str) -> dict[str, Any]:
    """One user as ``GET /crm/v8/users`` shows it (its metadata over Zoho's other keys)."""
    first, _, last = str(meta.get("full_name") or "").rpartition(" ")
    return {
        "zuid": meta["id"],
        "first_name": first,
        "last_name": last,
        "locale": "en_US",
        "language": "en_US",
        "country_locale": "en_US",
        "created_time": created,
        "Modified_Time": created,
        "category": "regular_user",
        "sort_order_preference": "First Name,Last Name",
        "sort_order_preference__s": "First Name,Last Name",
        "default_tab_group": "0",
        "offset": 19_800_000,
        "Isonline": False,
        "microsoft": False,
        "personal_account": False,
        "sandboxDeveloper": False,
        **meta,
    }
