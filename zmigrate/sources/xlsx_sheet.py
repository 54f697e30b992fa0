"""A sheet's rows, ``(row number, values by column)``, parsed in bulk.

The fast path cuts the sheet's XML at row ends, 1 MB at a time. A chunk whose rows all have
the last row's shape is read by one ``findall`` of its template and converted a column at a
time (:mod:`~zmigrate.sources.xlsx_match`, on a worker process for a big sheet). In a chunk of
mixed shapes, a row of a shape seen before is matched whole by that shape's template
(:mod:`~zmigrate.sources.xlsx_template`); another is read by one regular expression finding
each cell as ``(attributes, text)``, and its shape becomes a template. The scanning runs at C
speed; Python only turns number and date texts into values. The cell pattern takes what
Excel, LibreOffice and openpyxl write (attributes ``r s t`` in that order, a formula before
the value, plain inline strings); a row holding anything else (rich inline text, another
attribute order) is caught by counting its ``<c`` tags against the cells found, and a chunk
with comments or CDATA is not tried. Such a chunk is read again by :class:`SlowRows`, an
expat parser that takes any well-formed sheet, and so is a whole sheet whose elements carry
a namespace prefix.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Future
from typing import IO, Any
from xml.parsers.expat import ParserCreate

from openpyxl.utils import column_index_from_string, get_column_letter

from zmigrate.sources.blocks import Block, RowBlock
from zmigrate.sources.inflate import Chunks, ReadAhead
from zmigrate.sources.xlsx_book import Book, iso_date, number
from zmigrate.sources.xlsx_match import AHEAD, Matcher, match, split
from zmigrate.sources.xlsx_template import CELL, TEXT, Fail, Kind, Template, value

Row = tuple[int, list[Any]]
_Matched = Future[tuple[bool, str] | None]
_Pending = tuple[bytes, Template | None, _Matched | None]
_CHUNK = 1 << 20
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REFS = re.compile(r'<c r="([A-Z]+)\d+"')
_ATTRS = re.compile(r' (s|t|cm|vm|ph)="([^"]*)"')
_ROW_NUMBER = re.compile(r'\sr="(\d+)"')
_ROOT = re.compile(r"<worksheet\b[^>]*>")
_LETTERS = [get_column_letter(i) for i in range(1, 703)]
# expat names a namespaced element "<namespace>}<local name>" with this separator
_ROW, _C, _V, _IS, _T, _R, _RPH = (
    f"{_MAIN_NS}}}{n}" for n in ("row", "c", "v", "is", "t", "r", "rPh")
)


class _Columns(dict[str, int]):
    """Column letters to 1-based indexes, computed once per spelling."""

    def __missing__(self, letters: str) -> int:
        index = self[letters] = column_index_from_string(letters)
        return index


def _place(
    cells: list[tuple[str, str, str, str]], values: list[Any], columns: _Columns
) -> list[Any]:
    """A sparse row's values in their columns (a cell without ``r`` takes the next one)."""
    placed: list[Any] = []
    for (letters, _, _, _), cell in zip(cells, values, strict=True):
        column = columns[letters] if letters else len(placed) + 1
        if column > len(placed):
            placed += [None] * (column - 1 - len(placed))
            placed.append(cell)
        else:
            placed[column - 1] = cell
    return placed


_KINDS = {"inlineStr": Kind.TEXT, "str": Kind.TEXT, "e": Kind.TEXT, "n": Kind.NUMBER}
_KINDS.update({"s": Kind.SHARED, "b": Kind.BOOL, "d": Kind.ISO})
_TEMPLATES = 16


class FastRows:
    """The fast path's state: the book's conversions, row templates, the last row number."""

    def __init__(self, book: Book, fail: Fail) -> None:
        self.book = book
        self.fail = fail
        self.number = 0
        self.columns = _Columns()
        self.kinds: dict[str, tuple[Kind, str]] = {}
        self.templates: list[Template] = []

    def kind(self, attrs: str) -> tuple[Kind, str]:
        """A cell's kind and style from its attributes after ``r`` (``' s="1" t="n"'``)."""
        found = self.kinds.get(attrs)
        if found is None:
            named = dict(_ATTRS.findall(attrs))
            style = named.get("s", "")
            kind = _KINDS.get(named.get("t", "n"), Kind.TEXT)
            if kind is Kind.NUMBER and style in self.book.dates:
                kind = Kind.DURATION if style in self.book.durations else Kind.DATE
            found = self.kinds[attrs] = (kind, style)
        return found

    def values(self, cells: list[tuple[str, str]], escaped: bool) -> list[Any]:
        """Each cell's value, read by the cell pattern."""
        book = self.book
        values: list[Any] = []
        for attrs, text in cells:
            kind, style = self.kind(attrs)
            values.append(text if kind is TEXT and not escaped else value(book, kind, style, text))
        return values

    def place(self, seg: str, number: int, values: list[Any]) -> list[Any]:
        """The row's values in their columns, unless each cell is in the next one from A."""
        last = len(values) - 1
        at = seg.rfind('<c r="') + 6
        if last < len(_LETTERS) and seg.startswith(f'{_LETTERS[last]}{number}"', at):
            return values
        refs = [(letters, "", "", "") for letters in _REFS.findall(seg)]
        return _place(refs, values, self.columns)

    def match(self, seg: str, start: int) -> tuple[Template, tuple[str, ...]] | None:
        """The first template matching the row in full, moved to the front for the next row."""
        for i, template in enumerate(self.templates):
            m = template.fullmatch(seg, start)
            if m is not None:
                if i:
                    self.templates.insert(0, self.templates.pop(i))
                return template, m.groups()
        return None

    def general(self, seg: str, start: int, end: int) -> Row | None:
        """A row no template matches, read cell by cell (None if a cell escaped the pattern);
        its shape becomes a template."""
        m = _ROW_NUMBER.search(seg, start, end)
        number = int(m.group(1)) if m else self.number + seg.count("<row")
        cells = CELL.findall(seg, end + 1)
        if len(cells) != seg.count("<c ", end) + seg.count("<c>", end) + seg.count("<c/>", end):
            return None
        if not cells:
            return number, []
        template = Template.build(seg, start, end, self.kind)
        if template is not None:
            self.templates.insert(0, template)
            del self.templates[_TEMPLATES:]
        return number, self.place(seg, number, self.values(cells, "&" in seg))

    def bulk(self) -> Template | None:
        """The last row's template if it can read whole chunks (its cells from A on)."""
        template = self.templates[0] if self.templates else None
        return template if template is not None and template.columns is None else None

    def block(self, text: str) -> Block | None:
        """The rows of a run of whole ``<row>`` elements if the last row's shape fits them
        all (a sheet of one shape is read a chunk at a time this way), else None."""
        template = self.bulk()
        got = None if template is None else match(template.pattern, text)
        if template is None or got is None:
            return None
        return self.converted(template, got[1].__getitem__, got[0])

    def converted(
        self, template: Template, texts: Callable[[int], Sequence[str]], escaped: bool
    ) -> Block:
        """The rows ``template`` matched, from the texts of its groups."""
        block = template.block(texts, escaped, self.book, self.fail)
        self.number = block.numbers[-1]
        return block

    def rows(self, text: str) -> list[Row] | None:
        """The rows of a run of whole ``<row>`` elements, or None if a cell escaped the fast
        pattern (then the slow path reads the text)."""
        if "<!--" in text or "<![CDATA[" in text:
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        out: list[Row] = []
        add = out.append
        book = self.book
        number = self.number
        template = self.templates[0] if self.templates else None
        segs = text.split("</row>")
        del segs[-1]
        # one "<row" a row: each row but the first starts at 0 (the first may follow the
        # sheet's opening parts); "&" anywhere: rows check their own text for entities
        one_tag = text.count("<row") == len(segs)
        amp = "&" in text
        for seg in segs:
            start = 0 if one_tag and seg.startswith("<row") else seg.rfind("<row")
            if start and (start < 0 or "<c " in seg[:start] or "<c>" in seg[:start]):
                return None
            m = template.fullmatch(seg, start) if template is not None else None
            if m is not None:
                groups = m.groups()
                number = int(groups[0])
                add((number, template.row(groups, book, amp and "&" in seg)))  # type: ignore[union-attr]
                continue
            found = self.match(seg, start)
            if found is not None:
                template, groups = found
                number = int(groups[0])
                add((number, template.row(groups, book, "&" in seg)))
                continue
            end = seg.find(">", start)
            self.number = number
            row = self.general(seg, start, end) if end > 0 else None
            if row is None:
                return None
            number = row[0]
            add(row)
            template = self.templates[0] if self.templates else None
        self.number = number
        return out


class SlowRows:
    """Expat handlers turning any well-formed sheet XML into rows.

    Finished rows collect in ``done``; the caller empties it after each chunk, so memory holds
    one chunk's rows whatever the sheet's size.
    """

    def __init__(self, book: Book, number: int = 0) -> None:
        self.book = book
        self.done: list[Row] = []
        self.text: list[str] = []
        self.number = number
        self.values: list[Any] = []
        self.cell: list[tuple[str, str, str, str]] = []
        self.kind = self.ref = self.style = ""
        self.raw: str | None = None
        self.inline: list[str] | None = None  # [plain text, run texts...] of an inline string
        self.in_run = self.in_phonetic = False
        self.columns = _Columns()
        self.parser = ParserCreate(namespace_separator="}")
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text.append

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == _C:
            self.kind, self.style = attrs.get("t", "n"), attrs.get("s", "")
            self.ref = attrs.get("r", "").rstrip("0123456789")
            self.raw, self.inline = None, None
        elif name in (_V, _T):
            self.text.clear()
        elif name == _ROW:
            r = attrs.get("r")
            self.number = self.number + 1 if r is None else int(float(r))
            self.cell = []
            self.values = []
        elif name == _IS:
            self.inline = [""]
        elif name == _R:
            self.in_run = True
        elif name == _RPH:
            self.in_phonetic = True

    def end(self, name: str) -> None:
        if name == _C:
            self.cell.append((self.ref, self.style, self.kind, ""))
            self.values.append(self.value())
        elif name == _V:
            self.raw = "".join(self.text)
        elif name == _T and self.inline is not None and not self.in_phonetic:
            text = "".join(self.text)
            if self.in_run:
                self.inline.append(text)
            else:
                self.inline[0] = text
        elif name == _ROW:
            self.done.append((self.number, _place(self.cell, self.values, self.columns)))
        elif name == _R:
            self.in_run = False
        elif name == _RPH:
            self.in_phonetic = False

    def value(self) -> Any:
        kind, raw = self.kind, self.raw
        if kind == "inlineStr":
            return None if self.inline is None else "".join(self.inline)
        if not raw:
            return None
        if kind == "n":
            return (
                self.book.date_cell(self.style, raw)
                if self.style in self.book.dates
                else number(raw)
            )
        if kind == "s":
            return self.book.shared[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return iso_date(raw)
        return raw  # "str" (a formula's text), "e" (an error such as #N/A)

    def feed(self, data: bytes | str, final: bool = False) -> list[Row]:
        self.parser.Parse(data, final)
        done, self.done = self.done, []
        return done


def _cut(data: bytes) -> int:
    at = data.rfind(b"</row>")
    return 0 if at < 0 else at + len(b"</row>")


class SheetRows:
    """``(row number, values by column)`` for each row of one sheet's XML stream."""

    def __init__(self, book: Book, fail: Fail) -> None:
        self.book = book
        self.fast = FastRows(book, fail)
        self.slow: SlowRows | None = None

    @property
    def number(self) -> int:
        """The last row number read (where an error is)."""
        return self.slow.number if self.slow is not None else self.fast.number

    def blocks(self, src: Chunks, matcher: Matcher | None = None) -> Iterator[Block]:
        """The sheet's rows a chunk of its XML at a time; with a ``matcher``, chunks go to its
        worker, ``AHEAD`` at a time, as soon as a template can read them."""
        data = src.read(max(_CHUNK, 4096))
        root = _ROOT.search(data[:4096].decode("utf-8", "replace"))
        if root is None or f'xmlns="{_MAIN_NS}"' not in root.group(0) or _not_utf8(data):
            yield from map(_block, self._slow_stream(data, src))
            return
        pending: deque[_Pending] = deque()
        rest = b""
        while data:
            buf = rest + data
            cut = _cut(buf)
            rest = buf[cut:]
            if cut:
                template = self.fast.bulk() if matcher is not None else None
                future = None
                if matcher is not None and template is not None:
                    future = matcher.submit(template.pattern, buf[:cut])
                pending.append((buf[:cut], template, future))
                while pending and (future is None or len(pending) > AHEAD):
                    yield self._chunk(root.group(0), *pending.popleft())
            data = src.read(_CHUNK)
        while pending:
            yield self._chunk(root.group(0), *pending.popleft())
        tail = rest.partition(b"</sheetData>")[0]
        if b"<c " in tail or b"<c>" in tail:  # cells after the last row: the slow path says
            yield _block(self._fragment(root.group(0), tail.decode("utf-8", "replace")))

    def _chunk(
        self, root: str, data: bytes, template: Template | None, future: _Matched | None
    ) -> Block:
        """A chunk's rows: as the worker matched them, else read here."""
        if future is not None and template is not None:
            try:
                got = future.result()
            except BrokenExecutor:  # the worker died (killed): this process reads on
                got = None
            if got is not None:
                return self.fast.converted(template, split(got[1]), got[0])
        text = data.decode("utf-8")
        block = self.fast.block(text)
        if block is None:
            rows = self.fast.rows(text)
            block = _block(self._fragment(root, text) if rows is None else rows)
        return block

    def _fragment(self, root: str, text: str) -> list[Row]:
        """Rows the fast pattern missed, read by expat inside the sheet's own root element."""
        start = text.find("<row")
        self.slow = SlowRows(self.book, self.fast.number)
        rows = self.slow.feed(
            f"{root}<sheetData>{text[max(start, 0) :]}</sheetData></worksheet>", True
        )
        self.fast.number = self.slow.number
        self.slow = None
        return rows

    def _slow_stream(self, data: bytes, src: Chunks) -> Iterator[list[Row]]:
        self.slow = SlowRows(self.book)
        while data:
            yield self.slow.feed(data)
            data = src.read(_CHUNK)
        yield self.slow.feed(b"", True)


def _block(rows: list[Row]) -> Block:
    numbers, values = zip(*rows, strict=True) if rows else ((), ())
    return RowBlock(numbers, values)


def read_ahead(member: IO[bytes]) -> ReadAhead:
    """A sheet's XML inflated on a second thread in the chunks :meth:`SheetRows.rows` reads."""
    return ReadAhead(member, _CHUNK, first=max(_CHUNK, 4096))


def _not_utf8(data: bytes) -> bool:
    """A sheet declared in another encoding than UTF-8 (rare; expat decodes it)."""
    head = data[:100].lower()
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    m = re.search(rb'encoding="([^"]+)"', head)
    return m is not None and m.group(1).replace(b"-", b"") != b"utf8"
