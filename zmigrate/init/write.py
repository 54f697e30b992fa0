"""A :class:`Draft` as the text of a commented TOML manifest. Pure: values in, text out.

Every decision is written next to what it decided (``# NOTE``), every guess the user should
confirm as ``# CHECK``, every gap that stops ``plan`` or fails records as ``# FIX``.
A mapping init would not choose alone is written commented out, ready to uncomment.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from zmigrate.init.model import Draft, FieldDraft, Level, LookupDraft, Note, StepDraft
from zmigrate.init.origin import Form

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def key(name: str) -> str:
    return name if _BARE.match(name) else q(name)


def _inline(pairs: list[tuple[str, str]]) -> str:
    return "{ " + ", ".join(f"{key(k)} = {v}" for k, v in pairs) + " }"


def _notes(notes: tuple[Note, ...] | list[Note], indent: str = "") -> list[str]:
    return [f"{indent}# {n}" for n in notes]


def field_line(f: FieldDraft) -> str:
    if f.user:
        value = _inline([("user", q(f.column))])
    elif f.transform is None and not f.values:
        value = q(f.column)
    else:
        pairs = [("column", q(f.column))]
        if f.transform:
            pairs.append(("transform", q(f.transform)))
        if f.format:
            pairs.append(("format", q(f.format)))
        if f.values:
            pairs.append(("map", _inline([(k, q(v)) for k, v in f.values])))
        value = _inline(pairs)
    line = f"{key(f.target)} = {value}"
    return line if f.active else f"# {line}"


def lookup_line(lk: LookupDraft) -> str:
    pairs = [("step", q(lk.step)), ("column", q(lk.column))]
    if lk.optional:
        pairs.append(("optional", "true"))
    line = f"{key(lk.target)} = {_inline(pairs)}"
    return line if lk.active else f"# {line}"


def _query(step: StepDraft) -> str:
    """The step's query: a table's rows ordered by the source key (else the first column)."""
    origin = step.profile.origin
    if origin.query is not None:
        return origin.query
    columns = [c.name for c in step.profile.columns]
    order = [*step.source_key, *columns[:1]][:1]
    by = f" order by {', '.join(c if _IDENT.match(c) else q(c) for c in order)}" if order else ""
    return f"select * from {origin.table}{by}"


def source_line(step: StepDraft, manifest_dir: Path) -> str:
    origin = step.profile.origin
    if origin.form is Form.SQL:
        assert origin.url is not None
        return f"source = {_inline([('sql', q(origin.url)), ('query', q(_query(step)))])}"
    assert origin.path is not None
    rel = Path(os.path.relpath(origin.path.resolve(), manifest_dir.resolve())).as_posix()
    pairs = [(str(origin.form), q(rel))]
    if origin.inner is not None:
        pairs.append(("sheet" if origin.form is Form.XLSX else "member", q(origin.inner)))
    if origin.header_row != 1:
        pairs.append(("header_row", str(origin.header_row)))
    pairs += [(k, q(v)) for k, v in step.profile.options.items()]
    return f"source = {_inline(pairs)}"


def step_text(step: StepDraft, manifest_dir: Path) -> list[str]:
    out = [f"# ---- {step.profile.origin.label}: {step.profile.rows} rows", *_notes(step.notes)]
    out += [
        "[[steps]]",
        f"name = {q(step.name)}",
        source_line(step, manifest_dir),
        f"target = {q(step.target)}",
        'operation = "upsert"',
    ]
    keys = ", ".join(q(k) for k in step.key)
    out.append(f"key = [{keys}]" if step.key else '# key = ["..."]   # FIX: see above')
    if step.source_key:
        out.append(f"source_key = [{', '.join(q(k) for k in step.source_key)}]")
    out.append("[steps.fields]")
    for f in step.fields:
        out += _notes(f.notes)
        out.append(field_line(f))
    if step.unmatched:
        listed = ", ".join(step.unmatched)
        out.append(f"# {Level.CHECK}: columns no field matched (not migrated): {listed}")
    if step.lookups:
        out.append("[steps.lookups]")
        for lk in step.lookups:
            out += _notes(lk.notes)
            out.append(lookup_line(lk))
    return out


def manifest_text(d: Draft, manifest_dir: Path) -> str:
    """The manifest, with its FIX list first so nobody misses it."""
    files = len(d.steps)
    out = [
        f"# Written by `zmigrate init` from {files} source{'s' if files != 1 else ''}: a first "
        "guess to read through.",
        "# NOTE lines say how a choice was made, CHECK lines ask you to confirm one, FIX lines",
        "# name what `zmigrate plan` (or the run) will refuse until you fix it.",
    ]
    fixes = d.fixes()
    if fixes:
        out.append(f"# {len(fixes)} to fix:")
        out += [f"#   {f}" for f in fixes]
    out += [
        "",
        "[target]",
        '# crm_edition = "enterprise"  # free, standard, professional, enterprise, ultimate',
        "# crm_users = 1",
        '# books_plan = "standard"     # free, standard, professional, premium, elite, ultimate',
        '# inventory_plan = "standard"',
    ]
    if d.schema:
        out.append(f"schema = {q(d.schema)}")
    for step in d.steps:
        out += ["", *step_text(step, manifest_dir)]
    return "\n".join(out) + "\n"
