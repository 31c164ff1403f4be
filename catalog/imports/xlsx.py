"""Reading the first worksheet of an XLSX workbook as rows of cells, with bounded work and memory.

openpyxl's own reader trusts the workbook too much for files from strangers: its read-only mode
pads every row to the sheet's *declared* dimension and yields an empty row for every gap, so a
1.6 KB sheet that declares ``A1:XFD1048576`` and has one cell in row 1,048,576 becomes a billion
empty cells; it unpacks whatever the archive holds and keeps every shared string and every
``<row>`` element it has parsed. This module reads the parts itself and uses openpyxl only to
turn one ``<c>`` element into a value (numbers, dates, booleans, formulas as text, inline and
shared strings), so the values are exactly openpyxl's. What it guarantees:

- **Only what is there is read.** The declared dimension is ignored; rows and cells that are not
  in the XML cost nothing (a gap of a million rows is skipped without work). Each ``<row>`` and
  ``<c>`` element is dropped from the tree as soon as it has been read, so memory does not grow
  with the sheet.
- **Columns are capped** (``max_columns``): a value beyond the cap is refused, naming its cell;
  empty cells beyond it are ignored. Every ``<row>`` element is yielded, blank ones too, so the
  caller's row limit counts them: blank rows are not free either.
- **Bytes are bounded per part while streaming** (``max_part_bytes`` for the sheet and the shared
  strings, :data:`SMALL_PART_BYTES` for the workbook, its relationships and the styles), counted
  on the decompressed bytes actually produced, whatever the archive's headers claim. Each part is
  decompressed once, without parsing, before it is parsed, so a zip bomb is refused after a
  fraction of a second of inflating instead of after minutes of parsing.
- **Shared strings are stored compactly** (one UTF-8 buffer and an offset per string), so their
  memory is about their text, not 60 bytes of Python object per string.
- **XML is parsed with defusedxml**, which refuses any document type declaration, entity
  declaration or external reference (billion laughs, XXE); nesting deeper than
  :data:`MAX_XML_DEPTH` is refused too.

Every refusal is a :class:`XlsxProblem` whose message names the part, row or cell.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from defusedxml.ElementTree import fromstring, iterparse
from django.template.defaultfilters import filesizeformat

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET_REL = REL_NS + "/worksheet"
SHARED_STRINGS_REL = REL_NS + "/sharedStrings"
STYLES_REL = REL_NS + "/styles"

WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS_PART = "xl/_rels/workbook.xml.rels"

# Parts that describe the workbook rather than hold its data are small in any real file.
SMALL_PART_BYTES = 8 * 1024 * 1024
# A workbook has a few dozen parts; tens of thousands are a way to make the central directory
# itself expensive to read.
MAX_PARTS = 10_000
MAX_XML_DEPTH = 24
# What one cell or shared string may be made of (rich-text runs and their properties).
MAX_KEPT = 10_000
MAX_CELLS_PER_ROW = 16_384  # Excel's last column is XFD
CHUNK = 256 * 1024
# The most all parts together may claim to unpack to, in parts' limits (sheet, strings, rest).
DECLARED_FACTOR = 3

_ROW = f"{{{MAIN_NS}}}row"
_CELL = f"{{{MAIN_NS}}}c"
_SHEET_DATA = f"{{{MAIN_NS}}}sheetData"
_SI = f"{{{MAIN_NS}}}si"
_T = f"{{{MAIN_NS}}}t"
_R = f"{{{MAIN_NS}}}r"


class XlsxProblem(Exception):
    """The workbook is refused; the message says why and where."""


@dataclass(frozen=True)
class XlsxLimits:
    max_part_bytes: int
    max_columns: int


def column_letter(index: int) -> str:
    """1 → A, 26 → Z, 27 → AA (1-based, as in a cell reference)."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --------------------------------------------------------------------------- the archive


def _part_count(path) -> int | None:
    """The number of entries the zip's end record declares, read without parsing the
    central directory (``None`` if there is no end record: the zip module will say why)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(size - 65_557, 0))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    (entries,) = struct.unpack("<H", tail[at + 10 : at + 12])
    return entries


class _BoundedStream:
    """A part of the archive, read while counting the bytes it inflates to."""

    def __init__(self, archive: zipfile.ZipFile, name: str, limit: int):
        self.name = name
        self.limit = limit
        self.read_bytes = 0
        self._raw = archive.open(name)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > CHUNK:
            size = CHUNK  # never inflate more than a chunk at a time, whatever is asked
        data = self._raw.read(size)
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise XlsxProblem(_too_big(self.name, self.limit))
        return data

    def close(self) -> None:
        self._raw.close()


def _too_big(name: str, limit: int) -> str:
    return (
        f"The workbook's part {name} unpacks to more than {filesizeformat(limit)}, far more "
        "than a spreadsheet within the upload limit holds (a zip bomb?); it is refused."
    )


class Workbook:
    """An XLSX file opened for reading its first worksheet."""

    def __init__(self, path, limits: XlsxLimits):
        self.limits = limits
        count = _part_count(path)
        if count is not None and (count > MAX_PARTS or count == 0xFFFF):
            raise XlsxProblem(
                f"The workbook is an archive of {count:,} or more parts; a spreadsheet has a few "
                "dozen. It is refused."
            )
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise XlsxProblem(_damaged(error)) from None
        self.names = set(self.archive.namelist())
        if WORKBOOK_PART not in self.names:
            self.close()
            raise XlsxProblem(_not_a_workbook(self.names))
        # What the archive claims is checked first (cheap); what it really inflates to is
        # counted while each part is read, since the claim may be false.
        declared = sum(member.file_size for member in self.archive.infolist())
        if declared > DECLARED_FACTOR * limits.max_part_bytes:
            self.close()
            raise XlsxProblem(
                f"The workbook would unpack to {filesizeformat(declared)}, far more than a "
                "spreadsheet within the upload limit should; it is refused."
            )
        self.epoch_1904 = False
        self.sheet_part = ""
        self.strings_part = ""
        self.styles_part = ""

    def close(self) -> None:
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ----------------------------------------------------------------- parts

    def _stream(self, name: str, limit: int) -> _BoundedStream:
        try:
            return _BoundedStream(self.archive, name, limit)
        except (
            zipfile.BadZipFile,
            OSError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ) as error:
            raise XlsxProblem(_damaged(error)) from None

    def _inflate(self, name: str, limit: int) -> None:
        """Decompress ``name`` to nowhere, refusing it as soon as it passes ``limit``."""
        stream = self._stream(name, limit)
        try:
            while stream.read(CHUNK):
                pass
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as error:
            raise XlsxProblem(_damaged(error)) from None
        finally:
            stream.close()

    def _small_xml(self, name: str):
        self._inflate(name, SMALL_PART_BYTES)
        stream = self._stream(name, SMALL_PART_BYTES)
        try:
            return fromstring(_read_all(stream), forbid_dtd=True)
        except XlsxProblem:
            raise
        except Exception as error:
            raise _xml_problem(error, name) from None
        finally:
            stream.close()

    def _resolve(self, target: str) -> str:
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join("xl", target))

    def open(self) -> None:
        """Find the first worksheet, the shared strings and the styles, checking each part's
        unpacked size before anything is parsed."""
        workbook = self._small_xml(WORKBOOK_PART)
        properties = workbook.find(f"{{{MAIN_NS}}}workbookPr")
        if properties is not None:
            self.epoch_1904 = properties.get("date1904", "").lower() in ("1", "true")
        rels = {}
        if WORKBOOK_RELS_PART in self.names:
            for rel in self._small_xml(WORKBOOK_RELS_PART).iter(f"{{{PKG_REL_NS}}}Relationship"):
                rels[rel.get("Id")] = (rel.get("Type", ""), self._resolve(rel.get("Target", "")))
        sheets = workbook.find(f"{{{MAIN_NS}}}sheets")
        for sheet in sheets if sheets is not None else ():
            kind, target = rels.get(sheet.get(f"{{{REL_NS}}}id"), ("", ""))
            if kind == WORKSHEET_REL and target in self.names:
                self.sheet_part = target
                break
        if not self.sheet_part:
            raise XlsxProblem("The workbook has no worksheet.")
        for kind, target in rels.values():
            if kind == SHARED_STRINGS_REL and target in self.names:
                self.strings_part = target
            elif kind == STYLES_REL and target in self.names:
                self.styles_part = target
        limit = self.limits.max_part_bytes
        self._inflate(self.sheet_part, limit)
        if self.strings_part:
            self._inflate(self.strings_part, limit)

    # ----------------------------------------------------------------- contents

    def shared_strings(self) -> SharedStrings:
        strings = SharedStrings()
        if not self.strings_part:
            return strings
        stream = self._stream(self.strings_part, self.limits.max_part_bytes)
        for event, element, _parent in _elements(stream, keep_inside={_SI}):
            if event == "end" and element.tag == _SI:
                strings.append(_si_text(element))
        return strings

    def date_styles(self) -> tuple[set[int], set[int]]:
        """The indexes of cell styles that show dates, and of those that show durations."""
        if not self.styles_part:
            return set(), set()
        from openpyxl.styles.stylesheet import Stylesheet

        tree = self._small_xml(self.styles_part)
        try:
            stylesheet = Stylesheet.from_tree(tree)
        except Exception:  # openpyxl raises many kinds on odd styles; dates then read as numbers
            return set(), set()
        return stylesheet.date_formats, stylesheet.timedelta_formats

    def rows(self) -> Iterator[tuple[int, list]]:
        """``(row number, values)`` for each ``<row>`` of the first sheet that is in the file;
        values run from column A to the row's last cell (``None`` where there is none)."""
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH
        from openpyxl.worksheet._reader import WorkSheetParser

        self.open()
        date_formats, timedelta_formats = self.date_styles()
        reader = WorkSheetParser(
            None,
            self.shared_strings(),
            data_only=False,
            epoch=CALENDAR_MAC_1904 if self.epoch_1904 else WINDOWS_EPOCH,
            date_formats=date_formats,
            timedelta_formats=timedelta_formats,
        )
        max_columns = self.limits.max_columns
        stream = self._stream(self.sheet_part, self.limits.max_part_bytes)
        last_row = cells_in_row = 0
        row = None
        values: dict[int, object] = {}
        for event, element, parent in _elements(stream, keep_inside={_CELL}):
            tag = element.tag
            if event == "start":
                if tag == _ROW and parent is not None and parent.tag == _SHEET_DATA:
                    row = element
                    reader.row_counter = _row_number(element.get("r"), last_row)
                    reader.col_counter = cells_in_row = 0
                    values = {}
                elif tag == _CELL and row is not None and parent is row:
                    cells_in_row += 1
                    if cells_in_row > MAX_CELLS_PER_ROW:
                        raise XlsxProblem(
                            f"Row {reader.row_counter:,} holds more than "
                            f"{MAX_CELLS_PER_ROW:,} cells, more than a sheet has columns; the "
                            "workbook is damaged."
                        )
                continue
            if row is None:
                continue
            if tag == _CELL and parent is row:
                column, value = _cell(reader, element)
                if column > max_columns:
                    if value not in (None, ""):
                        raise XlsxProblem(
                            f"Cell {column_letter(column)}{reader.row_counter} holds a value "
                            f"beyond column {column_letter(max_columns)}: an import reads at "
                            f"most {max_columns:,} columns (IMPORT_MAX_COLUMNS)."
                        )
                elif value is not None:
                    values[column] = value
            elif element is row:
                row = None
                number = reader.row_counter
                if number <= last_row:
                    raise XlsxProblem(
                        f"Row {number:,} comes after row {last_row:,} in the sheet; the "
                        "workbook is damaged. Save it again from your spreadsheet program."
                    )
                last_row = number
                cells: list[object] = [None] * max(values, default=0)
                for column, value in values.items():
                    cells[column - 1] = value
                yield number, cells


def _cell(reader, element) -> tuple[int, object]:
    """``(column, value)`` of a ``<c>`` element, read by openpyxl's own cell parser."""
    try:
        cell = reader.parse_cell(element)
    except (ValueError, IndexError, TypeError, OverflowError, KeyError) as error:
        where = element.get("r") or f"in row {reader.row_counter:,}"
        raise XlsxProblem(
            f"The cell {where[:20]} cannot be read ({_describe(error)}); the workbook is "
            "damaged. Save it again from your spreadsheet program."
        ) from None
    column = cell["column"]
    if not 1 <= column <= 16_384:
        raise XlsxProblem(f"A cell of row {reader.row_counter:,} is outside the sheet's columns.")
    return column, cell["value"]


def _row_number(text: str | None, previous: int) -> int:
    if text is None:
        return previous + 1
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= 1_048_576:
        raise XlsxProblem(f"A row of the sheet is numbered {text[:20]!r}; the workbook is damaged.")
    return number


def _elements(stream: _BoundedStream, *, keep_inside: set[str]):
    """``(event, element, parent)`` for the start and the end of every element of ``stream``.

    Once its end has been yielded, an element is removed from its parent, so the tree never
    holds more than the path to the element being read; the exception is what lies inside an
    element of ``keep_inside`` (a cell's value, a shared string's runs), kept until that element
    ends, and bounded by :data:`MAX_KEPT`.
    """
    stack: list = []
    keeping = kept = 0
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                parent = stack[-1] if stack else None
                stack.append(element)
                if len(stack) > MAX_XML_DEPTH:
                    raise XlsxProblem(
                        f"The workbook's part {stream.name} nests elements more than "
                        f"{MAX_XML_DEPTH} deep; it is refused."
                    )
                if keeping:
                    kept += 1
                    if kept > MAX_KEPT:
                        raise XlsxProblem(
                            f"The workbook's part {stream.name} has an element made of more "
                            f"than {MAX_KEPT:,} parts; it is refused."
                        )
                if element.tag in keep_inside:
                    keeping += 1
                yield event, element, parent
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            if element.tag in keep_inside:
                keeping -= 1
            yield event, element, parent
            if parent is not None and not keeping:
                parent.remove(element)
                kept = 0
    except XlsxProblem:
        raise
    except Exception as error:
        raise _xml_problem(error, stream.name) from None
    finally:
        stream.close()


def _si_text(element) -> str:
    """A shared string's text: its ``<t>``, or its rich-text runs' ``<t>`` joined (phonetic
    guides ``<rPh>`` left out), as openpyxl reads it."""
    text = element.findtext(_T)
    parts = [text] if text is not None else []
    parts.extend(run.findtext(_T) or "" for run in element.iterfind(_R))
    return "".join(parts)


def _read_all(stream: _BoundedStream) -> bytes:
    chunks = []
    while chunk := stream.read(CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


class SharedStrings:
    """The workbook's shared strings in one UTF-8 buffer with an end offset per string."""

    def __init__(self):
        self._buffer = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._buffer += text.encode("utf-8", "surrogatepass")
        self._ends.append(len(self._buffer))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        if not 0 <= index < len(self._ends):
            raise IndexError(f"there is no shared string {index}")
        start = self._ends[index - 1] if index else 0
        return self._buffer[start : self._ends[index]].decode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- messages

UNSAFE_XML = (
    "The workbook contains XML that is refused for safety ({error}). Save it again from your "
    "spreadsheet program, or export it as CSV."
)
DAMAGED = (
    "The XLSX workbook cannot be read: it is damaged or not an Excel workbook ({error}). "
    "Save it again as .xlsx, or export it as CSV."
)


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _damaged(error: BaseException) -> str:
    return DAMAGED.format(error=_describe(error))


def _not_a_workbook(names: set[str]) -> str:
    if "content.xml" in names and "mimetype" in names:
        return (
            "The file is an OpenDocument spreadsheet (.ods), not an Excel workbook. Save it as "
            ".xlsx or CSV."
        )
    if "word/document.xml" in names:
        return "The file is a Word document, not a spreadsheet. Save the table as .xlsx or CSV."
    return "The file is a zip archive but not an Excel workbook. Save it as .xlsx or CSV."


def _xml_problem(error: BaseException, part: str) -> XlsxProblem:
    from defusedxml import DefusedXmlException

    if isinstance(error, DefusedXmlException):
        return XlsxProblem(UNSAFE_XML.format(error=error))
    if isinstance(error, zipfile.BadZipFile | OSError | EOFError | RuntimeError):
        return XlsxProblem(_damaged(error))
    return XlsxProblem(_damaged(type(error)(f"{part}: {error}")))
