"""From profiled files and the org's schema to a :class:`Draft` manifest. Pure.

Per file: the module (best score; the runner-up named), the column -> field matches with
their formats, the source key and the upsert key. Across files: lookups (a column whose
values are another file's source keys) and the step order they imply. Last, what stops a
run: mandatory fields no column fills.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from zmigrate.init.fields import draft_field, draft_owner, owner_column
from zmigrate.init.guess import Guess, guess_modules, match_columns, targets
from zmigrate.init.links import find_lookups, run_order, source_key, target_key
from zmigrate.init.model import Draft, Level, LookupDraft, Note, StepDraft
from zmigrate.init.read import Profile
from zmigrate.manifest import LINE_ITEMS
from zmigrate.schema import FieldType, Module, OrgSchema

CLOSE = 0.05
"""A runner-up module within this score of the best one is named as a real alternative."""


def step_name(stem: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-z]+", "_", stem.casefold()).strip("_") or "step"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _module_notes(guesses: Sequence[Guess]) -> list[Note]:
    best = guesses[0]
    notes = [Note(Level.NOTE, f"target {best.product}:{best.module}: {best.why}")]
    if len(guesses) > 1:
        second = guesses[1]
        text = f"runner-up {second.product}:{second.module} ({second.why})"
        close = best.score - second.score < CLOSE
        notes.append(
            Note(
                Level.CHECK if close else Level.NOTE,
                text + (": nearly as likely, check the target" if close else ""),
            )
        )
    return notes


def _one_file(name: str, profile: Profile, org: OrgSchema) -> tuple[StepDraft, Module]:
    columns = [c.name for c in profile.columns]
    guesses = guess_modules(profile.origin.stem, columns, org)
    best = guesses[0]
    mod = org.module(best.product, best.module)
    assert mod is not None  # guessed from the org's own modules
    fields_of = targets(mod)
    matches = sorted(match_columns(columns, mod), key=lambda m: columns.index(m.column))
    fields = tuple(draft_field(m, fields_of[m.field], profile.column(m.column)) for m in matches)
    owner = mod.field("Owner")
    if owner is not None and owner.data_type == FieldType.OWNERLOOKUP:
        used = {m.column for m in matches}
        found = [c for c in profile.columns if c.name not in used and owner_column(c)]
        fields += tuple(draft_owner(c, org) for c in found[:1])
    mapped = {f.column: f.target for f in fields if f.active}
    key_col, key_note = source_key(profile, mod, mapped)
    key, target_note = target_key(profile, mod, mapped, key_col)
    notes = [*(Note(Level.NOTE, n) for n in profile.notes), *_module_notes(guesses)]
    notes += [key_note, target_note]
    step = StepDraft(
        name,
        profile,
        best.product,
        best.module,
        fields=fields,
        key=(key,) if key else (),
        source_key=(key_col,) if key_col else (),
        notes=tuple(notes),
    )
    return step, mod


def _mandatory(step: StepDraft, mod: Module) -> list[Note]:
    given = {f.target for f in step.fields if f.active} | {
        lk.target for lk in step.lookups if lk.active
    }
    if any(g.startswith(LINE_ITEMS) for g in given):
        given.add("line_items")
    out: list[Note] = []
    for m in mod.mandatory:
        if m in given:
            continue
        fld = mod.field(m)
        off = [f.column for f in step.fields if f.target == m] + [
            lk.column for lk in step.lookups if lk.target == m
        ]
        if off:
            text = (
                f"{m} is mandatory for {step.target}: its line from '{off[0]}' is commented "
                "out (see its CHECK): settle it and uncomment"
            )
        elif fld is not None and fld.is_lookup:
            text = (
                f"{m} is mandatory for {step.target}: a lookup to "
                f"{' or '.join(fld.targets)}, and no column holds another file's keys: add "
                f'that file, then {m} = {{ step = "...", column = "..." }} under '
                "[steps.lookups]"
            )
        else:
            text = (
                f"{m} is mandatory for {step.target} and no column matched it: map one "
                f'({m} = "column") or a constant ({m} = {{ const = "..." }}) under [steps.fields]'
            )
        out.append(Note(Level.FIX, text))
    return out


def _unmatched(step: StepDraft) -> tuple[str, ...]:
    used = {f.column for f in step.fields} | {lk.column for lk in step.lookups}
    used |= set(step.source_key)
    return tuple(c.name for c in step.profile.columns if c.name not in used)


def draft(profiles: Sequence[Profile], org: OrgSchema, schema: str | None = None) -> Draft:
    """The manifest for ``profiles`` (in the order given) against ``org``."""
    taken: set[str] = set()
    first = [_one_file(step_name(p.origin.stem, taken), p, org) for p in profiles]
    others = [(s.name, s.profile, mod, s.source_key[0]) for s, mod in first if s.source_key]
    steps: dict[str, StepDraft] = {}
    for step, mod in first:
        mapped = {f.column for f in step.fields if f.active}
        found = find_lookups(step.name, step.profile, mod, others, mapped, step.source_key)
        lookups: tuple[LookupDraft, ...] = tuple(found)
        with_links = replace(step, lookups=lookups)
        with_links = replace(
            with_links,
            notes=(*step.notes, *_mandatory(with_links, mod)),
            unmatched=_unmatched(with_links),
        )
        steps[step.name] = with_links
    order = run_order(list(steps), {n: s.depends_on for n, s in steps.items()})
    return Draft(tuple(steps[n] for n in order), schema)
