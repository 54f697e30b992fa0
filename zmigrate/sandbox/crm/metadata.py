"""Org, current user, modules and fields metadata, built from `zmigrate.schema.CRM_MODULES`.

Zoho's OpenAPI files mark dozens of keys as required on a module or a field; the templates
below carry every one of them (with neutral values), and the catalogue fills in what is
real: names, data types, mandatory, unique, lookups, picklists, lengths.
"""

from __future__ import annotations

from typing import Any

from zmigrate import quotas
from zmigrate.schema import CRM_MODULES, Field, Module

from . import wire
from .store import CrmStore

JSON_TYPE = {
    "integer": "integer",
    "bigint": "string",
    "currency": "double",
    "double": "double",
    "boolean": "boolean",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
}

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
    "unique": None,
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


def field_id(mod: Module, f: Field) -> str:
    return str(
        wire.ID_BASE + 10_000 + 100 * list(CRM_MODULES).index(mod.api_name) + mod.fields.index(f)
    )


def field_json(mod: Module, f: Field, modified: str) -> dict[str, Any]:
    """One field as ``GET /crm/v8/settings/fields?module=`` shows it."""
    label = f.api_name.replace("_", " ")
    out = {
        **FIELD_TEMPLATE,
        "api_name": f.api_name,
        "field_label": label,
        "display_label": label,
        "column_name": f.api_name.upper(),
        "data_type": f.data_type,
        "json_type": JSON_TYPE.get(f.data_type, "string"),
        "system_mandatory": f.mandatory,
        "read_only": f.read_only,
        "field_read_only": f.read_only,
        "length": f.max_length or 255,
        "id": field_id(mod, f),
        "display_field": f.api_name == mod.display_field,
        "created_time": modified,
        "modified_time": modified,
    }
    if f.unique:
        out["unique"] = {"casesensitive": "0"}
    if f.data_type in ("currency", "double"):
        out["decimal_place"] = 2
    if f.lookup:
        target = CRM_MODULES[f.lookup]
        out["lookup"] = {
            "display_label": target.singular,
            "api_name": f.api_name,
            "module": {"api_name": target.api_name, "id": CrmStore.module_id(target.api_name)},
            "id": field_id(mod, f),
            "query_details": {},
            "revalidate_filter_during_edit": False,
            "show_fields": [],
        }
    out["pick_list_values"] = [
        {
            "colour_code": None,
            "actual_value": value,
            "type": "used",
            "id": str(wire.ID_BASE + 50_000 + i),
            "sequence_number": i + 1,
            "display_value": value,
        }
        for i, value in enumerate(f.picklist)
    ]
    return out


def module_json(mod: Module, user: dict[str, str], modified: str) -> dict[str, Any]:
    """One module as ``GET /crm/v8/settings/modules`` shows it."""
    return {
        **MODULE_TEMPLATE,
        "api_name": mod.api_name,
        "module_name": mod.api_name,
        "plural_label": mod.api_name,
        "singular_label": mod.singular,
        "id": CrmStore.module_id(mod.api_name),
        "convertable": mod.api_name == "Leads",
        "sequence_number": list(CRM_MODULES).index(mod.api_name) + 1,
        "modified_time": modified,
        "modified_by": {"name": user["name"], "id": user["id"]},
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


def user_json(user: dict[str, str], created: str) -> dict[str, Any]:
    """The org's one user (the token's owner), as ``GET /crm/v8/users`` shows it."""
    first, _, last = user["name"].partition(" ")
    return {
        "id": user["id"],
        "zuid": user["id"],
        "full_name": user["name"],
        "first_name": first,
        "last_name": last,
        "email": user["email"],
        "status": "active",
        "confirm": True,
        "role": {"name": "CEO", "id": str(wire.ID_BASE + 2)},
        "profile": {"name": "Administrator", "id": str(wire.ID_BASE + 3)},
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
        "Isonline": True,
        "microsoft": False,
        "personal_account": False,
        "sandboxDeveloper": False,
    }
