"""Before the first write of a new run: the org's live CRM metadata against what the manifest
needs, then the custom fields it declares created.

:func:`problems` is pure: the manifest (checked against its schema, snapshot or built in)
and the org as it is now (an :class:`OrgSchema` read from Zoho) give one line per thing the
org lacks or that differs from the snapshot (it is stale). :func:`prepare` reads the
metadata (priced in the plan: ``planner.setup``), stops the run with every line (exit 2,
nothing sent) or creates the missing declared fields, 5 a call. Creating is idempotent:
fields the org has are not sent again, and ``DUPLICATE_DATA`` or a lost answer is settled by
reading the fields again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zmigrate.client import Zoho
from zmigrate.errors import ConfigError, RequestRejected, Unconfirmed, UsageError
from zmigrate.manifest import Manifest, NewField, Product, Step
from zmigrate.manifest.owners import active_users
from zmigrate.planner.scopes import manifest_scopes
from zmigrate.planner.setup import (
    CREDITS_CREATE_FIELDS,
    FIELDS_PER_CREATE,
    USERS_PER_PAGE,
    crm_modules,
    maps_owners,
)
from zmigrate.progress import Progress
from zmigrate.schema import FORMAT, PULL_HINT, Field, Module, OrgSchema, from_snapshot
from zmigrate.schema.related import Related
from zmigrate.schema_pull import trim_module, trim_user
from zmigrate.zoho_scopes import missing

LIVE = "the org"
"""How the live schema names itself in messages."""


class OrgMismatch(UsageError):
    """The org lacks something the manifest needs (or its snapshot is stale): exit 2."""


# ---- the comparison (pure) -----------------------------------------------------------------
def problems(manifest: Manifest, live: OrgSchema, *, with_users: bool) -> list[str]:
    """One line per module, field, picklist value or user the manifest needs and the org
    lacks, or that the snapshot describes otherwise than the org now does."""
    out: list[str] = []
    stale = not manifest.schema.is_builtin
    for step in manifest.steps:
        out += _step_problems(step, live, stale)
    if with_users:
        out += _user_problems(manifest, live)
    return list(dict.fromkeys(out))


def _modules_of(step: Step) -> Iterable[tuple[Module, tuple[str, ...], bool]]:
    """(module as planned, fields used, written?) for the step's CRM target and source."""
    target = step.target
    if target.product == Product.CRM and target.schema and target.module != Related.ATTACHMENTS:
        used = [f.target for f in step.fields] + [lk.target for lk in step.lookups] + [*step.key]
        yield target.schema, tuple(dict.fromkeys(used)), True
    src = step.source
    if src.product == Product.CRM and src.schema is not None:
        yield src.schema, step.export_fields, False


def _step_problems(step: Step, live: OrgSchema, stale: bool) -> list[str]:
    out = []
    created = {f.api_name for f in step.create_fields}
    for planned, used, written in _modules_of(step):
        where = f"step '{step.name}', crm:{planned.api_name}"
        mod = live.module("crm", planned.api_name)
        if mod is None:
            out.append(f"{where}: the org has no module {planned.api_name}")
            continue
        if written and not mod.creatable and step.operation != "update":
            out.append(f"{where}: the org does not let the API create records in it")
        for name in used:
            fld, want = mod.field(name), planned.field(name)
            if fld is None:
                if name not in created:
                    out.append(f"{where}: the org has no field {name}")
                continue
            if name in created:
                new = next(f for f in step.create_fields if f.api_name == name)
                if fld.data_type != new.data_type:
                    out.append(
                        f"{where}: field {name} is {fld.data_type} in the org, "
                        f"create_fields asks for {new.data_type}"
                    )
                elif new.unique and not fld.unique:
                    out.append(
                        f"{where}: field {name} is not unique in the org, create_fields "
                        "asks for a unique one"
                    )
                continue
            if want is not None and written:
                out += _field_problems(where, step, fld, want, stale)
    return out


def _field_problems(where: str, step: Step, fld: Field, want: Field, stale: bool) -> list[str]:
    out = []
    create = step.operation in ("insert", "upsert")
    update = step.operation in ("update", "upsert")
    if not fld.writable(create=create, update=update):
        out.append(f"{where}: the org does not let the API write field {fld.api_name}")
    if stale and fld.data_type != want.data_type:
        out.append(
            f"{where}: field {fld.api_name} is {fld.data_type} in the org, {want.data_type} in "
            "the snapshot (stale)"
        )
    if stale and fld.max_length and want.max_length and fld.max_length < want.max_length:
        out.append(
            f"{where}: field {fld.api_name} holds {fld.max_length} characters in the org, "
            f"{want.max_length} in the snapshot (stale)"
        )
    if fld.picklist:
        for value in _picklist_values(step, fld.api_name):
            if fld.actual(value) is None:
                out.append(f"{where}: field {fld.api_name} has no picklist value '{value}'")
    return out


def _picklist_values(step: Step, name: str) -> list[str]:
    """The picklist values the manifest sends to ``name`` (constants, value maps, defaults)."""
    values: list[Any] = []
    for fm in step.fields:
        if fm.target == name:
            values += [fm.const, fm.default, *(v for _, v in fm.values)]
    flat: list[str] = []
    for v in values:
        flat += [str(x) for x in v] if isinstance(v, list) else [str(v)] if v is not None else []
    return list(dict.fromkeys(flat))


def _user_problems(manifest: Manifest, live: OrgSchema) -> list[str]:
    now = active_users(live)
    then = active_users(manifest.schema)
    out = []
    owners = [s.owners for s in manifest.steps if s.owners is not None]
    for email in sorted({o.default_email for o in owners if o.default_email}):
        if email.strip().lower() not in now:
            out.append(f"default_owner {email}: not an active user of the org")
    for email, uid in sorted(then.items()):
        if now.get(email) != uid:
            out.append(f"user {email}: active in the snapshot, not in the org (stale)")
    for email in sorted(set(now) - set(then)):
        out.append(f"user {email}: active in the org, missing from the snapshot (stale)")
    return out


def live_schema(
    modules: Sequence[Mapping[str, Any]],
    fields: Mapping[str, Sequence[Mapping[str, Any]]],
    users: Sequence[Mapping[str, Any]],
) -> OrgSchema:
    """Zoho's metadata answers as an :class:`OrgSchema` (modules not read have no fields)."""
    data = {
        "format": FORMAT,
        "crm": {
            "modules": [
                trim_module(m, fields.get(str(m.get("api_name")), ()))
                for m in modules
                if m.get("api_supported")
            ],
            "users": [trim_user(u) for u in users],
        },
    }
    return from_snapshot(data, LIVE)


# ---- the calls ----------------------------------------------------------------------------
async def read_live(zoho: Zoho, manifest: Manifest) -> OrgSchema:
    """The org's modules, the fields of the modules the manifest uses, and (when it maps
    owners) its users: the calls ``planner.setup`` prices."""
    modules = await zoho.crm.settings_modules()
    names = {str(m.get("api_name")).lower(): str(m.get("api_name")) for m in modules}
    fields = {}
    for wanted in crm_modules(manifest):
        name = names.get(wanted.lower())
        if name is not None:
            fields[name] = await zoho.crm.settings_fields(name)
    users: list[dict[str, Any]] = []
    if maps_owners(manifest):
        page = 1
        while True:
            result = await zoho.crm.users(page, per_page=USERS_PER_PAGE)
            users += result.records
            if not result.more:
                break
            page = result.page + 1
    return live_schema(modules, fields, users)


async def check_scopes(zoho: Zoho, manifest: Manifest) -> None:
    """Refuse to start (ConfigError, nothing sent but the token request) when the token's
    answer names its scopes and they lack one the manifest needs (`manifest_scopes`)."""
    await zoho.tokens.token()
    granted = zoho.tokens.granted
    lacking = missing(granted, manifest_scopes(manifest)) if granted is not None else []
    if lacking:
        raise ConfigError(
            f"{manifest.path.name}: the access token lacks OAuth scopes this migration needs: "
            f"{', '.join(lacking)}; generate a new grant (refresh token) with them "
            "(`zmigrate plan` lists every scope the manifest needs); nothing was sent"
        )


async def prepare(zoho: Zoho, manifest: Manifest, progress: Progress) -> None:
    """Check the org against the manifest (OrgMismatch, nothing written, if it falls short),
    then create the declared fields it lacks."""
    if not crm_modules(manifest):
        return
    live = await read_live(zoho, manifest)
    found = problems(manifest, live, with_users=maps_owners(manifest))
    if found:
        hint = (
            "create what is missing in Zoho or change the manifest"
            if manifest.schema.is_builtin
            else f"pull the schema again ({PULL_HINT}) and re-plan"
        )
        raise OrgMismatch(
            f"{manifest.path.name}: the org lacks what the manifest needs (read from its "
            f"metadata just now; no record was sent); {hint}:\n  " + "\n  ".join(found)
        )
    for module, new in _to_create(manifest, live).items():
        await create_missing(zoho, module, new, progress)


def _to_create(manifest: Manifest, live: OrgSchema) -> dict[str, list[NewField]]:
    out: dict[str, list[NewField]] = {}
    for step in manifest.steps:
        mod = live.module("crm", step.target.module or "")
        for f in step.create_fields:
            if mod is not None and mod.field(f.api_name) is None:
                todo = out.setdefault(mod.api_name, [])
                if all(t.api_name != f.api_name for t in todo):
                    todo.append(f)
    return out


async def create_missing(zoho: Zoho, module: str, new: list[NewField], progress: Progress) -> None:
    """Create ``new`` in ``module``, 5 a call; a refusal is settled by :func:`_settle`."""
    for start in range(0, len(new), FIELDS_PER_CREATE):
        chunk = new[start : start + FIELDS_PER_CREATE]
        names = ", ".join(f.api_name for f in chunk)
        progress.note(f"creating crm:{module} field(s) {names}")
        try:
            await zoho.crm.create_fields(
                module, [f.body() for f in chunk], credits=CREDITS_CREATE_FIELDS
            )
        except (RequestRejected, Unconfirmed) as exc:
            await _settle(zoho, module, chunk, exc)


async def _settle(
    zoho: Zoho, module: str, chunk: list[NewField], exc: RequestRejected | Unconfirmed
) -> None:
    """A refused or unanswered create: fine if the org now has every field, as asked."""
    have = {str(f.get("api_name")): f for f in await zoho.crm.settings_fields(module)}
    wrong = [
        f"{f.api_name} ({have.get(f.api_name, {}).get('data_type') or 'missing'})"
        for f in chunk
        if have.get(f.api_name, {}).get("data_type") != f.data_type
    ]
    if wrong:
        raise OrgMismatch(
            f"crm:{module}: Zoho did not create field(s) {', '.join(wrong)}: {exc}; create them "
            "in Zoho (Setup > Modules and Fields) or change [steps.create_fields]"
        )
