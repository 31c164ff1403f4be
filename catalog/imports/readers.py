"""Reading an uploaded file as a table of text cells: CSV, TSV, XLSX or JSON, bounded and safe.

A :class:`Table` is read row by row, as often as needed (the importer reads it twice: once for
the keys, once for everything), so even a 100,000-row file never sits in memory whole.
Row numbers are those a spreadsheet shows (the header is row 1); for JSON they count entries.

Hostile files are refused quickly, with a message naming the file, row or cell, and with
bounded memory (see docs/security.md):

- the size limit (``IMPORT_MAX_BYTES``) is checked before anything is parsed; the type is
  decided by the file's content, and a name that promises another type is refused;
- every row read counts toward ``IMPORT_MAX_ROWS``, blank ones included, and a value beyond
  ``IMPORT_MAX_COLUMNS`` columns is refused;
- XLSX is read by :mod:`catalog.imports.xlsx`: only the cells that are there (never the declared
  dimension's padding), each part's unpacked bytes bounded while streaming
  (``IMPORT_MAX_UNPACKED_BYTES``), XML parsed with defusedxml (no DTDs, entities or external
  references), formulas read as their text and never evaluated; an encrypted workbook (an OLE
  file, not a zip) is refused with a message saying so;
- JSON is checked for its shape before it is parsed: nested at most :data:`JSON_MAX_DEPTH`
  levels, at most :data:`JSON_MAX_VALUES` values;
- a NUL character in a cell is removed from the value and reported as an error of that cell
  (the row's :class:`Cells` say which), so it never reaches a message or the database.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_text_list

from ..spreadsheet import ooxml_unescape
from .xlsx import Workbook, XlsxLimits, XlsxProblem

FORMATS = ("csv", "tsv", "xlsx", "json")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# The catalog's JSON export nests five levels (list, record, classifications, taxonomy, node).
JSON_MAX_DEPTH = 16
# Objects, lists, strings and numbers in one JSON file: a 20 MB export holds about 1.5 million;
# parsed, each costs 50–200 bytes, so this bounds the memory a JSON file can take.
JSON_MAX_VALUES = 3_000_000
NUL = "\x00"
NUL_SHOWN = "\ufffd"  # what a NUL becomes in the value, so that messages show where it was
JSON_LIST_KEYS = ("mitigations", "documents", "nodes", "rows", "data", "items")

csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why (and where, if it can)."""


class Cells(list):
    """A row's cells; ``nul_columns`` are the indexes of the cells that held a NUL character
    (each replaced by U+FFFD in the value), for the importer to report as errors."""

    nul_columns: tuple[int, ...] = ()


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def cell_text(value) -> str | object:
    """A cell as text; an integral number without ``.0``; structured JSON values unchanged."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value  # a dict or list from JSON: the layout decides


@dataclass
class Table:
    """A file's header and a way to read its rows, as often as needed."""

    path: Path
    file_format: str
    header: list[str] = field(default_factory=list)
    delimiter: str = ","
    _json: list | None = field(default=None, repr=False)

    def is_sheet(self) -> bool:
        return self.file_format != "json"

    def row_label(self, number: int) -> str:
        return f"row {number}" if self.is_sheet() else f"entry {number}"

    def column_label(self, index: int) -> str:
        name = self.header[index] if index < len(self.header) else ""
        if not self.is_sheet():
            return f'field "{name}"'
        letter = column_letter(index)
        return f'column {letter} ("{name}")' if name else f"column {letter}"

    def rows(self) -> Iterator[tuple[int, Cells]]:
        """``(row number, cells)`` for every row after the header, blank rows skipped (but
        counted toward ``IMPORT_MAX_ROWS``: a million blank rows are not free to read)."""
        reader = {
            "csv": self._sheet_rows,
            "tsv": self._sheet_rows,
            "xlsx": self._xlsx_rows,
            "json": self._json_rows,
        }[self.file_format]
        limit = settings.IMPORT_MAX_ROWS
        counted = 0
        for number, cells in reader():
            if number == 1 and self.is_sheet():
                continue  # the header
            counted += 1
            if counted > limit:
                raise FileProblem(
                    f"The file has more than {limit:,} rows, the most one import takes "
                    "(IMPORT_MAX_ROWS). Split it into several files."
                )
            if not any(cell not in ("", None) for cell in cells):
                continue
            yield number, _without_nul(cells)

    def _capped(self, number: int, cells: list) -> list:
        """``cells`` up to ``IMPORT_MAX_COLUMNS``; a value beyond is refused, naming its cell."""
        limit = settings.IMPORT_MAX_COLUMNS
        if len(cells) <= limit:
            return cells
        for index in range(limit, len(cells)):
            if cells[index] not in ("", None):
                raise FileProblem(
                    f"{first_upper(self.row_label(number))}, column {column_letter(index)} holds "
                    f"a value beyond column {column_letter(limit - 1)}: an import reads at most "
                    f"{limit:,} columns (IMPORT_MAX_COLUMNS)."
                )
        return cells[:limit]

    # ----------------------------------------------------------------- CSV and TSV

    def _lines(self) -> Iterator[str]:
        with open(self.path, "rb") as handle:
            head = handle.read(4)
            handle.seek(0)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                try:
                    text = handle.read().decode("utf-16")
                except UnicodeDecodeError as error:
                    raise FileProblem(
                        "The file starts like UTF-16 text but cannot be read as such. "
                        "Save it as “CSV UTF-8” and upload it again."
                    ) from error
                yield from text.splitlines(keepends=True)
                return
            for line_number, raw in enumerate(handle, start=1):
                if line_number == 1:
                    raw = raw.removeprefix(codecs.BOM_UTF8)
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise _EncodingError(line_number, raw[error.start : error.start + 1]) from error

    def _sheet_rows(self) -> Generator[tuple[int, list]]:
        reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=False)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _EncodingError as error:
                raise FileProblem(
                    f"The file is not UTF-8 text: {self.row_label(number + 1)} (line "
                    f"{error.line}) has the byte 0x{error.byte.hex().upper()}, which UTF-8 "
                    "cannot read. Save the file as “CSV UTF-8” and upload it again."
                ) from None
            except csv.Error as error:
                raise FileProblem(
                    f"{first_upper(self.row_label(number + 1))} is not valid CSV: {error}."
                ) from None
            number += 1
            yield number, self._capped(number, cells)

    # ----------------------------------------------------------------- XLSX

    def _xlsx_rows(self) -> Generator[tuple[int, list]]:
        limits = XlsxLimits(
            max_part_bytes=max_unpacked_bytes(),
            max_columns=settings.IMPORT_MAX_COLUMNS,
        )
        try:
            with Workbook(self.path, limits) as workbook:
                for number, values in workbook.rows():
                    yield (
                        number,
                        [ooxml_unescape(v) if isinstance(v, str) else cell_text(v) for v in values],
                    )
        except XlsxProblem as problem:
            raise FileProblem(str(problem)) from None

    # ----------------------------------------------------------------- JSON

    def _load_json(self) -> list[dict]:
        if self._json is not None:
            return self._json
        raw = self.path.read_bytes()
        check_json_shape(raw)
        try:
            document = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise FileProblem(
                f"The file is not UTF-8 text (byte {error.start:,} cannot be read)."
            ) from None
        except json.JSONDecodeError as error:
            raise FileProblem(
                f"The file is not valid JSON: line {error.lineno}, column {error.colno}: "
                f"{error.msg}."
            ) from None
        except RecursionError:
            raise FileProblem(_JSON_TOO_DEEP) from None
        except ValueError as error:  # e.g. a number of more than 4,300 digits
            raise FileProblem(f"The file is not valid JSON: {error}.") from None
        del raw
        if isinstance(document, dict):
            for key in JSON_LIST_KEYS:
                if isinstance(document.get(key), list):
                    document = document[key]
                    break
            else:
                keys = get_text_list(list(JSON_LIST_KEYS), "or")
                raise FileProblem(
                    "The JSON file holds an object without a list of records; give a list, "
                    f"or an object with one of the keys {keys}."
                )
        if not isinstance(document, list):
            raise FileProblem("The JSON file must hold a list of records.")
        for index, entry in enumerate(document, start=1):
            if not isinstance(entry, dict):
                raise FileProblem(f"Entry {index} of the JSON list is not an object.")
        self._json = document
        return document

    def _json_rows(self) -> Generator[tuple[int, list]]:
        for index, entry in enumerate(self._load_json(), start=1):
            yield index, [cell_text(entry.get(key)) for key in self.header]


class _EncodingError(Exception):
    def __init__(self, line: int, byte: bytes):
        self.line = line
        self.byte = byte


_JSON_TOO_DEEP = (
    f"The JSON file nests objects and lists more than {JSON_MAX_DEPTH} levels deep; the "
    "catalog's own export nests five. It is refused."
)
# A JSON string, its escapes included (unrolled so that a long string is one fast run).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def max_unpacked_bytes() -> int:
    """The most bytes one part of a workbook may unpack to (``IMPORT_MAX_UNPACKED_BYTES``, by
    default five times the upload limit: text unpacks to about three times its zipped size)."""
    return settings.IMPORT_MAX_UNPACKED_BYTES or 5 * settings.IMPORT_MAX_BYTES


def check_json_shape(raw: bytes) -> None:
    """Refuse JSON that is nested too deeply or holds too many values, before it is parsed
    (parsing is where the memory and the recursion go). Only counts bytes: strings are blanked
    out, then brackets and commas counted; innermost bracket pairs are removed level by level,
    at most :data:`JSON_MAX_DEPTH` times. Malformed JSON is left for the parser to describe."""
    skeleton, strings = _JSON_STRING.subn(b'""', raw)
    containers = skeleton.count(b"{") + skeleton.count(b"[")
    values = strings + containers + skeleton.count(b",")
    if values > JSON_MAX_VALUES:
        raise FileProblem(
            f"The JSON file holds more than {JSON_MAX_VALUES:,} values (objects, lists, strings "
            "and numbers), more than one import reads. Split it into several files."
        )
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    del skeleton
    for _level in range(JSON_MAX_DEPTH):
        if not brackets:
            return
        inner = _JSON_INNERMOST.sub(b"", brackets)
        if len(inner) == len(brackets):
            return  # unbalanced: the parser will say where
        brackets = inner
    if brackets and _JSON_INNERMOST.search(brackets):
        raise FileProblem(_JSON_TOO_DEEP)


def _without_nul(cells: list) -> Cells:
    """``cells`` with every NUL character replaced (strings inside JSON values too), and the
    indexes of the cells that held one."""
    row = Cells(cells)
    found = []
    for index, cell in enumerate(row):
        if isinstance(cell, str):
            if NUL in cell:
                row[index] = cell.replace(NUL, NUL_SHOWN)
                found.append(index)
        elif isinstance(cell, dict | list):
            cleaned, had_nul = _json_without_nul(cell)
            if had_nul:
                row[index] = cleaned
                found.append(index)
    row.nul_columns = tuple(found)
    return row


def _json_without_nul(value, depth: int = 0):
    if isinstance(value, str):
        return (value.replace(NUL, NUL_SHOWN), True) if NUL in value else (value, False)
    if depth > JSON_MAX_DEPTH:
        return value, False
    if isinstance(value, dict):
        pairs = [
            (_json_without_nul(k, depth + 1), _json_without_nul(v, depth + 1))
            for k, v in value.items()
        ]
        if any(k[1] or v[1] for k, v in pairs):
            return {k[0]: v[0] for k, v in pairs}, True
        return value, False
    if isinstance(value, list):
        items = [_json_without_nul(item, depth + 1) for item in value]
        if any(found for _, found in items):
            return [item for item, _ in items], True
    return value, False


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sniff_delimiter(path: Path) -> str:
    with open(path, "rb") as handle:
        first = handle.readline(64 * 1024).decode("utf-8", errors="replace")
    counts = {delimiter: first.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


# What a file is, by its first bytes, when it is not something an import reads.
SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"{\\rtf", "an RTF document"),
)
# The formats each file name extension may hold.
EXTENSIONS = {
    ".xlsx": {"xlsx"},
    ".xlsm": {"xlsx"},
    ".json": {"json"},
    ".csv": {"csv"},
    ".tsv": {"csv"},
    ".tab": {"csv"},
    ".txt": {"csv", "json"},
}
CONTENT_NAMES = {"xlsx": "an Excel workbook (XLSX)", "json": "JSON", "csv": "CSV or TSV text"}


def detect_format(path: Path, file_name: str) -> str:
    """The format, decided by the file's first bytes: a zip is a workbook, ``[`` or ``{`` JSON,
    other text CSV or TSV. A workbook that is encrypted or in the old .xls format, a known
    non-spreadsheet type (PDF, images, archives, XML) and a file whose name promises another
    format than it holds are refused, each with what the file was found to be."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    extension = Path(file_name).suffix.lower()
    if head.startswith(OLE_MAGIC):
        raise FileProblem(
            "This workbook is password-protected (encrypted) or in the old .xls format, which "
            "cannot be read. Remove the password and save it as .xlsx, or export it as CSV."
        )
    for magic, what in SIGNATURES:
        if head.startswith(magic):
            raise FileProblem(f"The file is {what}, not a spreadsheet. Upload CSV, XLSX or JSON.")
    if head.startswith(ZIP_MAGIC):
        found = "xlsx"
    else:
        text = head
        for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            if text.startswith(bom):
                text = text[len(bom) :]
                break
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = text.replace(b"\x00", b"")
        stripped = text.lstrip()
        if stripped[:1] == b"<":
            raise FileProblem(
                "The file is an XML or HTML document, not a spreadsheet. Save it as .xlsx or "
                "CSV, or export it as JSON."
            )
        found = "json" if stripped[:1] in (b"[", b"{") else "csv"
    if extension == ".xls":
        raise FileProblem(
            "The file is named .xls, the old Excel format, which cannot be read. Save it as "
            ".xlsx, or export it as CSV."
        )
    allowed = EXTENSIONS.get(extension)
    if allowed is not None and found not in allowed:
        if extension in (".xlsx", ".xlsm"):
            raise FileProblem(
                f"The file is named {extension} but is not an Excel workbook (it may be damaged, "
                f"or {CONTENT_NAMES[found]}). Save it again as .xlsx, or export it as CSV."
            )
        raise FileProblem(
            f"The file is named {extension} but holds {CONTENT_NAMES[found]}: the type is "
            "decided by what a file holds. Give it the name its content has, and upload it again."
        )
    return found


def open_table(path: Path, *, file_name: str) -> Table:
    """Check the file's size and format and read its header; :class:`FileProblem` if not."""
    path = Path(path)
    size = path.stat().st_size
    limit = settings.IMPORT_MAX_BYTES
    if size == 0:
        raise FileProblem("The file is empty.")
    if size > limit:
        raise FileProblem(
            f"The file is {filesizeformat(size)}; the most one import takes is "
            f"{filesizeformat(limit)} (IMPORT_MAX_BYTES). Split it into several files."
        )
    file_format = detect_format(path, file_name)
    table = Table(path=path, file_format=file_format)
    if file_format == "csv":
        table.delimiter = _sniff_delimiter(path)
        if table.delimiter == "\t":
            table.file_format = "tsv"
    if file_format == "json":
        keys: dict[str, None] = {}
        for entry in table._load_json():
            keys.update(dict.fromkeys(entry))
            if len(keys) > settings.IMPORT_MAX_COLUMNS:
                raise FileProblem(
                    f"The JSON records have more than {settings.IMPORT_MAX_COLUMNS:,} different "
                    "keys, more than one import reads (IMPORT_MAX_COLUMNS)."
                )
        table.header = list(keys)
        if not table.header:
            raise FileProblem("The JSON file holds no records.")
        _check_header_nul(table)
        return table
    rows = table._xlsx_rows() if file_format == "xlsx" else table._sheet_rows()
    try:
        first = next(rows, None)
    finally:
        rows.close()
    if first is None or first[0] != 1 or not any(str(cell).strip() for cell in first[1]):
        raise FileProblem("The file has no header in row 1.")
    header = [str(cell).strip() for cell in first[1]]
    while header and not header[-1]:
        header.pop()
    table.header = header
    _check_header_nul(table)
    return table


def _check_header_nul(table: Table) -> None:
    for index, name in enumerate(table.header):
        if NUL in name:
            table.header[index] = name.replace(NUL, NUL_SHOWN)
            where = (
                f"column {column_letter(index)} of the header (row 1)"
                if table.is_sheet()
                else f"the key “{table.header[index]}”"
            )
            raise FileProblem(
                f"The file has a NUL character in {where}, which cannot be stored. If it is "
                "UTF-16 text without a byte-order mark, save it as “CSV UTF-8”; otherwise "
                "remove the character."
            )
