"""Line numbers for manifest keys, which ``tomllib`` does not report, found by scanning the text.

A key is named by its path: ``("target", "crm_users")``, ``(0, "source", "file")`` for the
first ``[[steps]]`` entry, ``(2, "fields", "Stage", "map")`` inside a ``[steps.fields.Stage]``
table or an inline one. A key that is not written (a default) is reported at its table.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]


class Locator:
    """The headers of one manifest's text, and lookups of keys between them."""

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (line, name, is_array)
        for no, raw in enumerate(self.lines, 1):
            m = self._HEADER.match(raw)
            if m:
                name = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
                self.headers.append((no, name, raw.strip().startswith("[[")))
        self.step_lines = [no for no, name, arr in self.headers if arr and name == "steps"]
        self.target_line = next((no for no, name, _ in self.headers if name == "target"), 1)

    def line(self, path: Path) -> int:
        """The line of the key at ``path`` (see the module docstring)."""
        if path and isinstance(path[0], int):
            return self.step_key(path[0], *(str(p) for p in path[1:]))
        if path[:1] == ("target",):
            return self.target_key(*(str(p) for p in path[1:]))
        return self.key(1, len(self.lines), str(path[0])) or 1 if path else 1

    def target_key(self, *path: str) -> int:
        span = self.table(1, len(self.lines), "target") or (1, len(self.lines))
        found = self.key(span[0], span[1], path[0]) if path else None
        return found or self.target_line

    def step_block(self, index: int) -> tuple[int, int]:
        start = self.step_lines[index] if index < len(self.step_lines) else 1
        after = [no for no, name, _ in self.headers if no > start and not name.startswith("steps.")]
        return start, (after[0] - 1 if after else len(self.lines))

    def table(self, start: int, end: int, name: str) -> tuple[int, int] | None:
        """Line span of ``[name]`` (with its sub-tables) between ``start`` and ``end``."""
        for i, (no, hname, _) in enumerate(self.headers):
            if start <= no <= end and hname == name:
                later = self.headers[i + 1 :]
                nxt = [n for n, h, _ in later if n <= end and not h.startswith(name + ".")]
                return no, (nxt[0] - 1 if nxt else end)
        return None

    def key(self, start: int, end: int, key: str) -> int | None:
        pat = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        inline = re.compile(rf"[{{,]\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
        for no in range(start, min(end, len(self.lines)) + 1):
            if pat.match(self.lines[no - 1]):
                return no
        for no in range(start, min(end, len(self.lines)) + 1):
            if inline.search(self.lines[no - 1]):
                return no
        return None

    def step_key(self, index: int, *path: str) -> int:
        """Line of ``steps[index].path[0].path[1]...``: inline or in a ``[steps.x]`` table."""
        start, end = self.step_block(index)
        line = start
        for depth in range(len(path)):
            sub = self.table(start, end, "steps." + ".".join(path[: depth + 1]))
            if sub and depth + 1 < len(path):
                start, end = sub
                line = sub[0]
                continue
            found = self.key(start, end, path[depth])
            if found is None:
                return sub[0] if sub else line
            line = found
            start = found
        return line
