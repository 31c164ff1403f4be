"""Reading an uploaded file as a table of text cells: CSV, TSV, XLSX or JSON, bounded and safe.

A :class:`Table` is read row by row, as often as needed (the importer reads it twice: once for
the keys, once for everything), so even a 100,000-row file never sits in memory whole.
Row numbers are those a spreadsheet shows (the header is row 1); for JSON they count entries.

Safety: the size limit is checked before anything is parsed, the row limit while reading;
XLSX is opened with openpyxl in read-only mode, which parses its XML with defusedxml when it
is installed (it is a dependency, and a test checks that openpyxl uses it), never evaluates a
formula (a formula cell is read as its text, ``=…``), and is refused when it would unpack to
far more than the upload limit (a zip bomb). An encrypted (password-protected) workbook is an
OLE file, not a zip, and is refused with a message saying so.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_text_list

from ..spreadsheet import ooxml_unescape

FORMATS = ("csv", "tsv", "xlsx", "json")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# A workbook unpacks to several times its size; far more than that is a zip bomb.
XLSX_MAX_UNPACK_FACTOR = 25
JSON_LIST_KEYS = ("mitigations", "documents", "nodes", "rows", "data", "items")

csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why (and where, if it can)."""


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

    def rows(self) -> Iterator[tuple[int, list]]:
        """``(row number, cells)`` for every row after the header, blank rows skipped."""
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
            if not any(cell not in ("", None) for cell in cells):
                continue
            counted += 1
            if counted > limit:
                raise FileProblem(
                    f"The file has more than {limit:,} rows, the most one import takes "
                    "(IMPORT_MAX_ROWS). Split it into several files."
                )
            yield number, cells

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

    def _sheet_rows(self) -> Iterator[tuple[int, list]]:
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
            yield number, cells

    # ----------------------------------------------------------------- XLSX

    def _xlsx_rows(self) -> Iterator[tuple[int, list]]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(
                self.path, read_only=True, data_only=False, keep_links=False, keep_vba=False
            )
        except Exception as error:  # openpyxl raises many kinds on a damaged file
            raise _xlsx_problem(error) from None
        try:
            if not workbook.worksheets:
                raise FileProblem("The workbook has no worksheet.")
            sheet = workbook.worksheets[0]
            number = 0
            rows = sheet.iter_rows(values_only=True)
            while True:
                try:
                    values = next(rows)
                except StopIteration:
                    return
                except Exception as error:
                    raise _xlsx_problem(error) from None
                number += 1
                yield (
                    number,
                    [ooxml_unescape(v) if isinstance(v, str) else cell_text(v) for v in values],
                )
        finally:
            workbook.close()

    # ----------------------------------------------------------------- JSON

    def _load_json(self) -> list[dict]:
        if self._json is not None:
            return self._json
        raw = self.path.read_bytes()
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
        if isinstance(document, dict):
            for key in JSON_LIST_KEYS:
                if isinstance(document.get(key), list):
                    document = document[key]
                    break
            else:
                raise FileProblem(
                    "The JSON file holds an object without a list of records; give a list, "
                    f"or an object with one of the keys {get_text_list(JSON_LIST_KEYS, 'or')}."
                )
        if not isinstance(document, list):
            raise FileProblem("The JSON file must hold a list of records.")
        for index, entry in enumerate(document, start=1):
            if not isinstance(entry, dict):
                raise FileProblem(f"Entry {index} of the JSON list is not an object.")
        self._json = document
        return document

    def _json_rows(self) -> Iterator[tuple[int, list]]:
        for index, entry in enumerate(self._load_json(), start=1):
            yield index, [cell_text(entry.get(key)) for key in self.header]


class _EncodingError(Exception):
    def __init__(self, line: int, byte: bytes):
        self.line = line
        self.byte = byte


_UNSAFE_XML = (
    "The workbook contains XML that is refused for safety ({error}). Save it again from your "
    "spreadsheet program, or export it as CSV."
)
_DAMAGED_XLSX = (
    "The XLSX workbook cannot be read: it is damaged or not an Excel workbook ({error}). "
    "Save it again as .xlsx, or export it as CSV."
)


def _xlsx_problem(error: Exception) -> FileProblem:
    """What to tell about an exception from openpyxl (it wraps defusedxml's refusals)."""
    from defusedxml import DefusedXmlException

    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return FileProblem(_UNSAFE_XML.format(error=cause))
        cause = cause.__cause__ or cause.__context__
    return FileProblem(_DAMAGED_XLSX.format(error=_describe(error)))


def first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _sniff_delimiter(path: Path) -> str:
    with open(path, "rb") as handle:
        first = handle.readline(64 * 1024).decode("utf-8", errors="replace")
    counts = {delimiter: first.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def detect_format(path: Path, file_name: str) -> str:
    """The format from the file's name, checked against (or, failing that, taken from) its
    first bytes; a workbook that is encrypted or in the old .xls format is refused here."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    extension = Path(file_name).suffix.lower()
    if head.startswith(OLE_MAGIC) or extension == ".xls":
        raise FileProblem(
            "This workbook is password-protected (encrypted) or in the old .xls format, which "
            "cannot be read. Remove the password and save it as .xlsx, or export it as CSV."
        )
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if extension in (".xlsx", ".xlsm"):
        raise FileProblem(
            "The file is named .xlsx but is not an Excel workbook (it may be damaged). "
            "Save it again as .xlsx, or export it as CSV."
        )
    if extension == ".json":
        return "json"
    if extension in (".tsv", ".tab"):
        return "tsv"
    if extension in (".csv", ".txt"):
        return "csv"
    stripped = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


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
    if file_format == "xlsx":
        _check_zip(path, limit)
    if file_format in ("csv", "tsv"):
        table.delimiter = "\t" if file_format == "tsv" else _sniff_delimiter(path)
        if table.delimiter == "\t":
            table.file_format = "tsv"
    if file_format == "json":
        keys: dict[str, None] = {}
        for entry in table._load_json():
            keys.update(dict.fromkeys(entry))
        table.header = list(keys)
        if not table.header:
            raise FileProblem("The JSON file holds no records.")
        return table
    rows = table._xlsx_rows() if file_format == "xlsx" else table._sheet_rows()
    try:
        first = next(rows, None)
    finally:
        rows.close()
    if first is None or not any(str(cell).strip() for cell in first[1]):
        raise FileProblem("The file has no header in row 1.")
    header = [str(cell).strip() for cell in first[1]]
    while header and not header[-1]:
        header.pop()
    table.header = header
    return table


def _check_zip(path: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            names = {member.filename for member in members}
    except (zipfile.BadZipFile, OSError) as error:
        raise FileProblem(_DAMAGED_XLSX.format(error=_describe(error))) from None
    if "xl/workbook.xml" not in names:
        raise FileProblem(
            "The file is a zip archive but not an Excel workbook. Save it as .xlsx or CSV."
        )
    if unpacked > XLSX_MAX_UNPACK_FACTOR * limit:
        raise FileProblem(
            f"The workbook would unpack to {filesizeformat(unpacked)}, far more than a "
            "spreadsheet of its size should; it is refused."
        )
