"""A workbook's parts but its sheets' rows: sheet names, shared strings, date styles, epoch.

Read with a few small parsers of our own (the parts are small, but for the shared strings,
which are read once into a list), so that nothing leans on openpyxl's private reader; openpyxl's
public number-format and date helpers decide what is a date and which day a serial is.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, time
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel, from_ISO8601

_MIDNIGHT = time()
_CHUNK = 1 << 21
_DATE_CACHE = 1 << 16
_OFFICE_DOCUMENT = "/officeDocument"
_SIMPLE_STRING = re.compile(r'<t(?: xml:space="preserve")?>([^<]*)</t>')
_SHARED = re.compile(r"<si>(.*?)</si>|<si/>", re.DOTALL)
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>", re.DOTALL)
_RUN_TEXT = re.compile(r"<t\b[^>/]*>([^<]*)</t>")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def xml_text(text: str) -> str:
    """Text as an XML parser gives it: line ends normalised, entities replaced."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return html.unescape(text) if "&" in text else text


def number(text: str) -> int | float:
    """A numeric cell's text as openpyxl reads it: a float if it has a point or exponent."""
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def excel_date(value: Any) -> Any:
    """A date-time at midnight is a date: Excel stores dates as date-times."""
    if isinstance(value, datetime) and value.tzinfo is None and value.time() == _MIDNIGHT:
        return value.date()
    return value


def _cut(data: bytes, end: bytes) -> int:
    """Where the last complete element ending with ``end`` ends (0: none yet)."""
    at = data.rfind(end)
    return 0 if at < 0 else at + len(end)


_from_iso8601: Callable[[str], Any] = from_ISO8601


def iso_date(text: str) -> Any:
    """A cell of type ``d``: an ISO 8601 date-time (a date at midnight)."""
    return excel_date(_from_iso8601(text))


def rich_text(inner: str) -> str:
    """The text Excel shows for ``<si>``/``<is>`` content: runs joined, phonetic hints out."""
    m = _SIMPLE_STRING.fullmatch(inner)
    if m:
        return xml_text(m.group(1))
    return xml_text("".join(_RUN_TEXT.findall(_PHONETIC.sub("", inner))))


class Book:
    """An open workbook: its sheets by name (zip members) and how to read their cells."""

    def __init__(self, path: Path) -> None:
        self.archive = zipfile.ZipFile(path)
        try:
            self._read()
        except BaseException:
            self.archive.close()
            raise

    def _read(self) -> None:
        names = set(self.archive.namelist())
        workbook = next(
            (t for kind, t in self._rels("").values() if kind.endswith(_OFFICE_DOCUMENT)),
            "xl/workbook.xml",
        )
        rels = self._rels(workbook)
        self.sheets: dict[str, str] = {}
        self.epoch = WINDOWS_EPOCH
        for node in ElementTree.fromstring(self.archive.read(workbook)).iter():
            name = _local(node.tag)
            if name == "workbookPr" and node.get("date1904", "0").lower() in ("1", "true"):
                self.epoch = MAC_EPOCH
            elif name == "sheet":
                rid = next((v for k, v in node.attrib.items() if _local(k) == "id"), "")
                kind, target = rels.get(rid, ("", ""))
                if kind.endswith("/worksheet") and target in names:
                    self.sheets[node.get("name", "")] = target
        parts = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.dates, self.durations = self._styles(parts.get("styles"), names)
        strings = parts.get("sharedStrings")
        self.shared: list[str] = list(self._strings(strings)) if strings in names else []
        self.dates_seen: dict[str, Any] = {}
        """Values of the date cells read so far (not durations), by their text."""

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id to (type, zip member of the target)."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{name}.rels")
        try:
            root = ElementTree.fromstring(self.archive.read(rels))
        except KeyError:
            return {}
        out: dict[str, tuple[str, str]] = {}
        for node in root:
            target = node.get("Target", "")
            if node.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                member = target.lstrip("/")
            else:
                member = posixpath.normpath(posixpath.join(folder, target))
            out[node.get("Id", "")] = (node.get("Type", ""), member)
        return out

    def _styles(self, part: str | None, names: set[str]) -> tuple[set[str], set[str]]:
        """The cell style indexes (as the ``s`` attribute spells them) showing dates, and
        those of them showing durations (``[h]:mm``)."""
        dates: set[str] = set()
        durations: set[str] = set()
        if part not in names:
            return dates, durations
        assert part is not None
        root = ElementTree.fromstring(self.archive.read(part))
        formats: dict[int, str] = dict(BUILTIN_FORMATS)
        xfs: list[ElementTree.Element] = []
        for node in root:
            if _local(node.tag) == "numFmts":
                for nf in node:
                    formats[int(nf.get("numFmtId", "0"))] = nf.get("formatCode", "")
            elif _local(node.tag) == "cellXfs":
                xfs = list(node)
        for index, xf in enumerate(xfs):
            fmt = formats.get(int(xf.get("numFmtId", "0")), "General")
            if is_date_format(fmt):
                dates.add(str(index))
                if is_timedelta_format(fmt):
                    durations.add(str(index))
        return dates, durations

    def _strings(self, part: str) -> Iterator[str]:
        """The shared strings, in order, read 2 MB of XML at a time."""
        with self.archive.open(part) as src:
            data = src.read(_CHUNK)
            if b"<sst" not in data[:512]:  # a prefixed namespace: the general parser
                yield from _strings_tree(data, src)
                return
            rest = b""
            while True:
                buf = rest + data
                cut = _cut(buf, b"</si>") if data else len(buf)
                for m in _SHARED.finditer(buf[:cut].decode("utf-8")):
                    yield "" if m.group(1) is None else rich_text(m.group(1))
                if not data:
                    return
                rest = buf[cut:]
                data = src.read(_CHUNK)

    def date_cell(self, style: str, text: str) -> Any:
        """A numeric cell shown with a date format: a date, date-time, time or duration."""
        if style in self.durations:
            return self._serial(text, duration=True)
        value = self.dates_seen.get(text)
        if value is None:
            if len(self.dates_seen) >= _DATE_CACHE:
                self.dates_seen.clear()
            value = self.dates_seen[text] = self._serial(text, duration=False)
        return value

    def _serial(self, text: str, *, duration: bool) -> Any:
        try:
            return excel_date(from_excel(number(text), self.epoch, timedelta=duration))
        except (OverflowError, ValueError):
            return "#VALUE!"  # openpyxl's value for a date serial out of range

    def close(self) -> None:
        self.archive.close()


def _strings_tree(data: bytes, src: IO[bytes]) -> Iterator[str]:
    """Shared strings of any spelling (a namespace prefix), through ElementTree."""
    parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(("end",))
    while data:
        parser.feed(data)
        for event in parser.read_events():
            node: Any = event[-1]
            if isinstance(node, ElementTree.Element) and _local(node.tag) == "si":
                runs = [r for r in node if _local(r.tag) in ("t", "r")]
                yield "".join(
                    "".join(t.text or "" for t in r.iter() if _local(t.tag) == "t") for r in runs
                )
                node.clear()
        data = src.read(_CHUNK)
