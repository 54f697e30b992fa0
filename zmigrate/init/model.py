"""What ``init`` decides, as values the writer turns into a commented manifest."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from zmigrate.init.read import Profile


class Level(StrEnum):
    """How a comment asks the user to act."""

    FIX = "FIX"  # plan refuses the manifest (or the run would fail records) until fixed
    CHECK = "CHECK"  # a guess, or a choice init would not make alone
    NOTE = "NOTE"  # how something was decided


@dataclass(frozen=True)
class Note:
    level: Level
    text: str

    def __str__(self) -> str:
        return f"{self.level}: {self.text}"


@dataclass(frozen=True)
class FieldDraft:
    """One ``[steps.fields]`` line; ``active`` False writes it as a comment to uncomment."""

    target: str
    column: str
    how: str
    transform: str | None = None
    format: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    user: bool = False  # ``{ user = column }``: e-mail addresses of the org's users
    active: bool = True
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class LookupDraft:
    """One ``[steps.lookups]`` line: ``target`` takes the id step ``step`` made for ``column``."""

    target: str
    step: str
    column: str
    optional: bool
    active: bool = True
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class StepDraft:
    name: str
    profile: Profile
    product: str
    module: str
    fields: tuple[FieldDraft, ...] = ()
    lookups: tuple[LookupDraft, ...] = ()
    key: tuple[str, ...] = ()
    source_key: tuple[str, ...] = ()
    notes: tuple[Note, ...] = ()
    unmatched: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return f"{self.product}:{self.module}"

    @property
    def depends_on(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(lk.step for lk in self.lookups if lk.active))

    def all_notes(self) -> list[Note]:
        out = list(self.notes)
        for f in self.fields:
            out += f.notes
        for lk in self.lookups:
            out += lk.notes
        return out


@dataclass(frozen=True)
class Draft:
    """The whole manifest: steps in run order and the schema snapshot they were checked on."""

    steps: tuple[StepDraft, ...]
    schema: str | None = None  # the snapshot's path, relative to the manifest

    def fixes(self) -> list[str]:
        """Every FIX, prefixed with its step: what stands between the manifest and a run."""
        out: list[str] = []
        for s in self.steps:
            out += [f"step '{s.name}': {n}" for n in s.all_notes() if n.level is Level.FIX]
        return out
