"""The CRM org's records, checked field by field against the org's schema (`catalog`).

Each write returns Zoho's per-record answer (SUCCESS, INVALID_DATA, MANDATORY_NOT_FOUND,
DUPLICATE_DATA) in request order; successes are committed one by one, so a duplicate inside
one request is caught just as Zoho catches it. Records are kept in id order (ids count up),
which is Zoho's default order, so listings and Bulk Read pages stream without sorting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from zmigrate.sandbox.journal import Journal
from zmigrate.schema import FieldType
from zmigrate.schema.related import ParticipantType

from . import participants, wire
from .catalog import OrgField as Field
from .catalog import OrgModule as Module
from .catalog import builtin_modules, user_meta
from .values import EXPECTED_TYPE, Invalid, Refused, coercer, parent_module

SYSTEM_DUPLICATE_CHECK = {
    "Leads": ("Email",),
    "Contacts": ("Email",),
    "Accounts": ("Account_Name",),
    "Deals": ("Deal_Name",),
    "Products": ("Product_Name",),
}
"""Zoho's system-defined duplicate-check fields: the upsert default before unique fields."""


def system_keys(mod: Module) -> tuple[str, ...]:
    """A module's system duplicate-check fields (custom modules: ``Name``)."""
    if mod.meta.get("generated_type") == "custom" and mod.field("Name") is not None:
        return ("Name",)
    return SYSTEM_DUPLICATE_CHECK.get(mod.api_name, ())


def _by_id(row: tuple[str, Any]) -> int:
    return int(row[0]) if row[0].isdigit() else 0


def _key(value: Any) -> str:
    return str(value).strip().lower()


class CrmStore:
    """Records per module, unique indexes and converted leads of one sandbox org."""

    def __init__(
        self,
        user: dict[str, str],
        journal: Journal | None = None,
        modules: list[Module] | None = None,
        users: list[dict[str, Any]] | None = None,
        strict_fields: bool = False,
    ) -> None:
        self.user = user
        self.journal = journal or Journal(None)
        self.strict_fields = strict_fields
        """Answer INVALID_DATA for an unknown field instead of ignoring it as Zoho does."""
        self.modules: dict[str, Module] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.unique: dict[tuple[str, str], dict[str, str]] = {}
        self.shared: dict[tuple[str, str], dict[str, dict[str, None]]] = {}
        """Indexes of non-unique duplicate-check fields (Deal_Name, ...): value → ids in order."""
        for mod in builtin_modules() if modules is None else modules:
            self.put_module(mod)
        self.users: list[dict[str, Any]] = users if users else [user_meta(0, user["id"])]
        """The org's users (metadata dicts); owners must be active ones."""
        self.converted: set[str] = set()
        self._serial = 0
        self._schema_changes = 0

    # schema ------------------------------------------------------------------------------
    def module(self, name: str) -> Module | None:
        """The module named in a URL (case-insensitive, as Zoho allows)."""
        if name in self.modules:
            return self.modules[name]
        lowered = name.lower()
        return next((m for m in self.modules.values() if m.api_name.lower() == lowered), None)

    def put_module(self, mod: Module) -> None:
        """Add a module or replace it by a version with more fields (indexes follow)."""
        self.modules[mod.api_name] = mod
        records = self.records.setdefault(mod.api_name, {})
        for f in mod.fields:
            if f.unique and (mod.api_name, f.api_name) not in self.unique:
                self.unique[(mod.api_name, f.api_name)] = {}
        for name in system_keys(mod):
            if (mod.api_name, name) not in self.unique:
                self.shared.setdefault((mod.api_name, name), {})
        for rec in records.values():
            self._index(mod.api_name, rec)

    def user_by_id(self, user_id: str) -> dict[str, Any] | None:
        return next((u for u in self.users if u.get("id") == user_id), None)

    def add_field(self, module: str, meta: dict[str, Any]) -> Field:
        """A custom field created by the Fields API (journaled: it survives restarts)."""
        f = Field.of(meta)
        self.put_module(self.modules[module].with_field(f))
        self._journal_schema({"kind": "field", "module": module, "meta": meta})
        return f

    def add_module(self, mod: Module) -> None:
        """A custom module created by the Modules API (journaled)."""
        self.put_module(mod)
        fields = [f.meta for f in mod.fields]
        meta = {**mod.meta, "id": mod.id, "display_field": {"api_name": mod.display_field}}
        self._journal_schema({"kind": "module", "meta": meta, "fields": fields})

    def add_user(self, meta: dict[str, Any]) -> None:
        self.users.append(meta)
        self._journal_schema({"kind": "user", "meta": meta})

    def _journal_schema(self, change: dict[str, Any]) -> None:
        self._schema_changes += 1
        self.journal.put("crm.schema", f"{self._schema_changes:09d}", change)

    def _restore_schema(self) -> None:
        changes = sorted(self.journal.rows("crm.schema"))
        self._schema_changes = len(changes)
        for _, change in changes:
            meta = change["meta"]
            if change["kind"] == "field":
                self.put_module(self.modules[change["module"]].with_field(Field.of(meta)))
            elif change["kind"] == "module":
                fields = tuple(Field.of(f) for f in change["fields"])
                shown = meta.pop("display_field")["api_name"]
                self.put_module(Module(meta["api_name"], fields, meta, meta.pop("id"), shown))
            else:
                self.users.append(meta)

    # ids and lookups -------------------------------------------------------------------
    def new_id(self) -> str:
        self._serial += 1
        self.journal.put("crm.meta", "serial", self._serial)
        return str(wire.ID_BASE + self._serial * 1_000)

    def find(self, module: str, record_id: str) -> dict[str, Any] | None:
        return self.records[module].get(str(record_id))

    def find_by(self, module: str, field: str, value: Any) -> str | None:
        """Id of the first record whose ``field`` equals ``value`` (from an index if any)."""
        index = self.unique.get((module, field))
        if index is not None:
            return index.get(_key(value))
        shared = self.shared.get((module, field))
        if shared is not None:
            return next(iter(shared.get(_key(value), ())), None)
        if field == "id":
            return str(value) if str(value) in self.records[module] else None
        wanted = _key(value)
        return next(
            (rid for rid, rec in self.records[module].items() if _key(rec.get(field)) == wanted),
            None,
        )

    # values ----------------------------------------------------------------------------
    def coerce(self, mod: Module, f: Field, value: Any, index: int) -> Any:
        """The stored form of ``value`` for field ``f``, or Invalid with Zoho's error."""
        if value is None or value == "":
            return None
        try:
            if f.data_type in ("lookup", "ownerlookup", "userlookup"):
                return self._reference(f, value)
            if f.data_type == FieldType.PARTICIPANTS:
                return participants.coerce(value, self._participant, self.new_id)
            return coercer(f.data_type)(f, value)
        except participants.Refused:
            raise Invalid(wire.field_error("INVALID_DATA", f.api_name, index)) from None
        except Refused as exc:
            extra = exc.details or {"expected_data_type": EXPECTED_TYPE.get(f.data_type, "text")}
            raise Invalid(wire.field_error("INVALID_DATA", f.api_name, index, **extra)) from None

    def _participant(self, kind: ParticipantType, ref: str) -> dict[str, Any] | None:
        """The contact, lead or user an event's participant names."""
        if kind is ParticipantType.USER:
            return self.user_by_id(ref)
        return self.records.get(participants.MODULE_OF.get(kind, ""), {}).get(ref)

    def _reference(self, f: Field, value: object) -> str:
        """A lookup's record id (``{"id": ..}`` or the bare id): the user for an owner."""
        ref = value.get("id") if isinstance(value, dict) else value
        if not isinstance(ref, str | int) or isinstance(ref, bool):
            raise Refused
        ref = str(ref)
        if f.data_type in ("ownerlookup", "userlookup"):
            owner = self.user_by_id(ref)
            if owner is None or owner.get("status") != "active":
                raise Refused
        elif f.lookup and ref not in self.records.get(f.lookup, {}):
            raise Refused
        return ref

    def check(
        self, mod: Module, data: Any, index: int, existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Validated values of one record (insert when ``existing`` is None), or Invalid with
        the first problem (a REST answer names one per record)."""
        values, problems = self.validate(mod, data, index, existing)
        if problems:
            raise Invalid(problems[0])
        return values

    def validate(
        self, mod: Module, data: Any, index: int, existing: dict[str, Any] | None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(values, every problem in Zoho's order: invalid values, missing mandatory fields,
        duplicates). Unknown fields (unless ``strict_fields``) and system fields Zoho sets
        itself are ignored, as Zoho ignores them; computed ones (formula, autonumber) refused."""
        if not isinstance(data, dict):
            return {}, [wire.error("INVALID_DATA", wire.MSG_INVALID_DATA, {})]
        values, problems = self._values(mod, data, index, creating=existing is None)
        problems += self._missing(mod, values, index, existing)
        problems += self._duplicates(mod, values, index, existing)
        return values, problems

    def _values(
        self, mod: Module, data: dict[str, Any], index: int, creating: bool
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The record's writable values, coerced; a problem per value Zoho would refuse."""
        values: dict[str, Any] = {}
        problems = []
        for name, raw in data.items():
            f = mod.field(name)
            if name == "id" or name.startswith("$"):
                continue
            if f is None:
                if self.strict_fields:
                    problems.append(wire.field_error("INVALID_DATA", name, index))
                continue
            if f.refuses(creating):
                problems.append(wire.field_error("INVALID_DATA", name, index))
                continue
            if f.ignores(creating):
                continue
            try:
                values[name] = self.coerce(mod, f, raw, index)
                if f.takes_se_module and values[name] is not None:
                    asked = parent_module(raw) or data.get("$se_module")
                    values["$se_module"] = self._se_module(f, asked, values[name], index)
            except Invalid as exc:
                problems.append(exc.body)
        return values, problems

    def _se_module(self, f: Field, se_module: Any, ref: str, index: int) -> str:
        """The module a multi-module lookup's id lives in: ``$se_module`` must name one of
        the field's modules and hold that id, else INVALID_DATA (on ``$se_module`` or on
        the field)."""
        if se_module not in f.lookup_modules:
            raise Invalid(wire.field_error("INVALID_DATA", "$se_module", index))
        if ref not in self.records.get(str(se_module), {}):
            raise Invalid(wire.field_error("INVALID_DATA", f.api_name, index))
        return str(se_module)

    def _missing(
        self, mod: Module, values: dict[str, Any], index: int, existing: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Mandatory fields an insert leaves out, or an update empties."""
        problems = []
        for name in mod.mandatory:
            present = values.get(name) if name in values else (existing or {}).get(name)
            if present is None and (existing is None or name in values):
                problems.append(wire.field_error("MANDATORY_NOT_FOUND", name, index))
        return problems

    def _duplicates(
        self, mod: Module, values: dict[str, Any], index: int, existing: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Unique values another record holds already (compared as Zoho does, ignoring case)."""
        rid = existing["id"] if existing else None
        problems = []
        for name, value in values.items():
            index_map = self.unique.get((mod.api_name, name))
            if index_map is None or value is None:
                continue
            other = index_map.get(_key(value))
            if other is not None and other != rid:
                problems.append(self._duplicate(mod, name, index, other))
        return problems

    def _duplicate(self, mod: Module, name: str, index: int, other: str) -> dict[str, Any]:
        module_ref = {"api_name": mod.api_name, "id": mod.id}
        owner = {"name": self.user["name"], "id": self.user["id"]}
        return wire.field_error(
            "DUPLICATE_DATA",
            name,
            index,
            duplicate_record={"id": other, "module": module_ref, "Owner": owner},
        )

    def module_id(self, module: str) -> str:
        return self.modules[module].id

    # writes ----------------------------------------------------------------------------
    def key_fields(self, mod: Module) -> tuple[str, ...]:
        """Fields a record can be found by (upsert, Bulk Write ``find_by``): id, Zoho's
        system duplicate-check fields and the unique fields."""
        unique = (f.api_name for f in mod.fields if f.unique)
        return tuple(dict.fromkeys(("id", *system_keys(mod), *unique)))

    def _index(self, module: str, rec: dict[str, Any], remove: bool = False) -> None:
        for (mod, name), shared in self.shared.items():
            if mod != module or rec.get(name) is None:
                continue
            ids = shared.setdefault(_key(rec[name]), {})
            if remove:
                ids.pop(rec["id"], None)
            else:
                ids[rec["id"]] = None
        for (mod, name), index_map in self.unique.items():
            if mod != module or rec.get(name) is None:
                continue
            if remove:
                index_map.pop(_key(rec[name]), None)
            else:
                index_map[_key(rec[name])] = rec["id"]

    def _success(self, rec: dict[str, Any], message: str) -> dict[str, Any]:
        by = {"name": self.user["name"], "id": self.user["id"]}
        details = {
            "Modified_Time": rec["Modified_Time"],
            "Modified_By": by,
            "Created_Time": rec["Created_Time"],
            "id": rec["id"],
            "Created_By": by,
        }
        return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}

    def create(self, module: str, values: dict[str, Any], now: float) -> dict[str, Any]:
        """Commit a validated record; fills id, owner and timestamps."""
        stamp = wire.format_time(now)
        rec: dict[str, Any] = {"id": self.new_id(), "Owner": self.user["id"]}
        rec.update({k: v for k, v in values.items() if v is not None})
        rec.setdefault("Owner", self.user["id"])
        rec["Created_Time"] = rec["Modified_Time"] = stamp
        rec["Created_By"] = rec["Modified_By"] = self.user["id"]
        self.records[module][rec["id"]] = rec
        self._index(module, rec)
        self.journal.put(f"crm.rec/{module}", rec["id"], rec)
        return rec

    def change(self, module: str, rec: dict[str, Any], values: dict[str, Any], now: float) -> None:
        self._index(module, rec, remove=True)
        for name, value in values.items():
            if value is None:
                rec.pop(name, None)
            else:
                rec[name] = value
        rec["Modified_Time"] = wire.format_time(now)
        rec["Modified_By"] = self.user["id"]
        self._index(module, rec)
        self.journal.put(f"crm.rec/{module}", rec["id"], rec)

    def insert(self, mod: Module, rows: list[Any], now: float) -> list[dict[str, Any]]:
        out = []
        for i, row in enumerate(rows):
            try:
                values = self.check(mod, row, i, None)
            except Invalid as exc:
                out.append(exc.body)
                continue
            out.append(self._success(self.create(mod.api_name, values, now), "record added"))
        return out

    def update(
        self, mod: Module, rows: list[Any], now: float, record_id: str | None = None
    ) -> list[dict[str, Any]]:
        out = []
        for i, row in enumerate(rows):
            rid = record_id or (row.get("id") if isinstance(row, dict) else None)
            if rid is None:
                out.append(wire.field_error("MANDATORY_NOT_FOUND", "id", i))
                continue
            rec = self.find(mod.api_name, str(rid))
            if rec is None:
                out.append(wire.invalid_id(str(rid)))
                continue
            try:
                values = self.check(mod, row, i, rec)
            except Invalid as exc:
                out.append(exc.body)
                continue
            self.change(mod.api_name, rec, values, now)
            out.append(self._success(rec, "record updated"))
        return out

    def duplicate_fields(self, mod: Module, asked: Iterable[str] | None) -> tuple[str, ...]:
        """Upsert's match fields: those asked for, else system-defined then unique fields."""
        if asked:
            return tuple(asked)
        system = system_keys(mod)
        unique = tuple(f.api_name for f in mod.fields if f.unique and f.api_name not in system)
        return system + unique

    def upsert(
        self, mod: Module, rows: list[Any], now: float, asked: Iterable[str] | None
    ) -> list[dict[str, Any]]:
        fields = self.duplicate_fields(mod, asked)
        out = []
        for i, row in enumerate(rows):
            match = None
            if isinstance(row, dict):
                for name in fields:
                    if row.get(name) not in (None, ""):
                        rid = self.find_by(mod.api_name, name, row[name])
                        if rid is not None:
                            match = (name, self.records[mod.api_name][rid])
                            break
            try:
                values = self.check(mod, row, i, match[1] if match else None)
            except Invalid as exc:
                out.append(exc.body)
                continue
            if match:
                self.change(mod.api_name, match[1], values, now)
                item = self._success(match[1], "record updated")
                item.update(action="update", duplicate_field=match[0])
            else:
                item = self._success(self.create(mod.api_name, values, now), "record added")
                item.update(action="insert", duplicate_field=None)  # as Zoho's sample
            out.append(item)
        return out

    def delete(self, mod: Module, ids: list[str]) -> list[dict[str, Any]]:
        out = []
        for rid in ids:
            rec = self.records[mod.api_name].pop(rid, None)
            if rec is None:
                out.append(wire.invalid_id(rid))
                continue
            self._index(mod.api_name, rec, remove=True)
            self.journal.delete(f"crm.rec/{mod.api_name}", rid)
            out.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": rid},
                    "message": "record deleted",
                    "status": "success",
                }
            )
        return out

    # reads -----------------------------------------------------------------------------
    def render(
        self, mod: Module, rec: dict[str, Any], fields: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A record as the API shows it: lookups as ``{"name","id"}``, only ``fields``."""
        names = list(fields) if fields is not None else list(rec)
        out: dict[str, Any] = {}
        for name in names:
            f = mod.field(name)
            if f is None:
                continue
            out[name] = self.show(f, rec.get(name))
        if rec.get("$se_module"):
            out["$se_module"] = rec["$se_module"]
            if mod.api_name == "Notes" and out.get("Parent_Id"):
                out["Parent_Id"] = self._parent(rec)
        out["id"] = rec["id"]
        return out

    def _parent(self, rec: dict[str, Any]) -> dict[str, Any]:
        """A note's parent as v8 shows it: ``{"module": {"api_name", "id"}, "name", "id"}``."""
        module = self.modules[rec["$se_module"]]
        parent = self.records[module.api_name].get(rec["Parent_Id"]) or {}
        ref = {"api_name": module.api_name, "id": module.id}
        return {"module": ref, "name": parent.get(module.display_field), "id": rec["Parent_Id"]}

    def show(self, f: Field, value: Any) -> Any:
        if value is None:
            return None
        if f.data_type == FieldType.PARTICIPANTS:
            return participants.show(value, self._participant)
        if f.data_type in ("ownerlookup", "userlookup"):
            user = self.user_by_id(value) or {}
            return {"name": user.get("full_name"), "id": value, "email": user.get("email")}
        if f.data_type == "lookup" and f.lookup:
            target = self.records.get(f.lookup, {}).get(value)
            display = self.modules[f.lookup].display_field
            return {"name": target.get(display) if target else None, "id": value}
        return value

    def ordered(
        self, module: str, sort_by: str | None = None, descending: bool = False
    ) -> list[dict[str, Any]] | Iterator[dict[str, Any]]:
        """Records in Zoho's order: by id unless ``sort_by`` names another field."""
        records = self.records[module].values()
        if sort_by in (None, "id"):
            return reversed(list(records)) if descending else iter(records)
        return sorted(
            records,
            key=lambda r: (r.get(sort_by) is None, r.get(sort_by) or ""),
            reverse=descending,
        )

    def counts(self) -> dict[str, int]:
        return {m: len(recs) for m, recs in self.records.items()}

    def restore(self) -> None:
        """Take back the journal's records (in id order), indexes and converted leads."""
        self._restore_schema()
        serial = int(self.journal.get("crm.meta", "serial", 0))
        for module, records in self.records.items():
            for rid, rec in sorted(self.journal.rows(f"crm.rec/{module}"), key=_by_id):
                records[rid] = rec
                self._index(module, rec)
                serial = max(serial, (int(rid) - wire.ID_BASE) // 1_000)
        self._serial = serial
        self.converted = {lead for lead, _ in self.journal.rows("crm.converted")}

    # lead conversion ---------------------------------------------------------------------
    def convert_lead(
        self, lead_id: str, request: dict[str, Any], now: float
    ) -> tuple[int, dict[str, Any]]:
        """Convert a lead into Account (reused by name), Contact and, if asked, a Deal."""
        lead = self.records["Leads"].get(lead_id)
        if lead is None:
            if lead_id in self.converted:
                body = wire.error(
                    "ID_ALREADY_CONVERTED", wire.MSG_ALREADY_CONVERTED, {"resource_path_index": 2}
                )
                return 202, body
            return 400, wire.error(
                "INVALID_DATA", wire.MSG_INVALID_DATA, {"resource_path_index": 2}
            )
        deal_in = request.get("Deals")
        if deal_in is not None:
            try:
                deal_values = self.check(self.modules["Deals"], deal_in, 0, None)
            except Invalid as exc:
                item = exc.body
                item["details"]["json_path"] = "$.data[0].Deals." + item["details"]["api_name"]
                return 400, {"data": [item]}
        account_ref = (request.get("Accounts") or {}).get("id")
        if account_ref and account_ref not in self.records["Accounts"]:
            item = wire.field_error("INVALID_DATA", "Accounts", 0)
            return 400, {"data": [item]}
        account_id = account_ref or self.find_by("Accounts", "Account_Name", lead["Company"])
        if account_id is None:
            account = self.create("Accounts", {"Account_Name": lead["Company"]}, now)
            account_id = account["id"]
        contact_values: dict[str, Any] = {
            k: lead[k]
            for k in ("First_Name", "Last_Name", "Email", "Phone", "Mobile", "Lead_Source")
            if k in lead
        }
        contact_values["Account_Name"] = account_id
        email_owner = self.find_by("Contacts", "Email", lead["Email"]) if "Email" in lead else None
        contact = (
            self.records["Contacts"][email_owner]
            if email_owner
            else self.create("Contacts", contact_values, now)
        )
        details: dict[str, Any] = {
            "Contacts": {"name": contact.get("Last_Name"), "id": contact["id"]},
            "Accounts": {
                "name": self.records["Accounts"][account_id]["Account_Name"],
                "id": account_id,
            },
            "Deals": None,
        }
        if deal_in is not None:
            deal_values.update(Account_Name=account_id, Contact_Name=contact["id"])
            deal = self.create("Deals", deal_values, now)
            details["Deals"] = {"name": deal["Deal_Name"], "id": deal["id"]}
        self._index("Leads", lead, remove=True)
        del self.records["Leads"][lead_id]
        self.journal.delete("crm.rec/Leads", lead_id)
        self.converted.add(lead_id)
        self.journal.put("crm.converted", lead_id, True)
        item = {
            "code": "SUCCESS",
            "details": details,
            "message": "The record has been converted successfully",
            "status": "success",
        }
        return 200, {"data": [item]}
