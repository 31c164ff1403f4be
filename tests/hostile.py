"""Hostile files for the import tests and for bench/hostile.py: each written from scratch.

Every generator writes a small file that is expensive to read naively (padding, zip bombs, XML
entity bombs, deep nesting, NUL characters, false names) to ``path`` and returns ``path``.
Sizes are parameters, so tests use small ones with small limits and the bench the sizes of the
report (a 1.6 KB sheet declaring ``A1:XFD1048576``, a 490 KB workbook unpacking to 480 MB, a
1.1 MB workbook with 450 MB of shared strings, JSON nested 100,000 deep, …).
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

MIT_HEADER = ["Action ID", "Action Name", "Action Definition", "Action Source", "MitigationCode"]
GOOD_ROW = ["A0701", "Red-team the release", "People attack it first.", "NIST2024", "3.1"]

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
)


def column_letter(index: int) -> str:
    """1 → A, 16384 → XFD."""
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def inline_cell(column: int, row: int, text: str) -> str:
    return (
        f'<c r="{column_letter(column)}{row}" t="inlineStr"><is><t xml:space="preserve">'
        f"{escape(text)}</t></is></c>"
    )


def xml_row(row: int, values, *, first_column: int = 1) -> str:
    cells = "".join(
        inline_cell(first_column + offset, row, value) for offset, value in enumerate(values)
    )
    return f'<row r="{row}">{cells}</row>'


def write_workbook(
    path: Path,
    sheet: str | bytes,
    *,
    shared_strings: str | bytes | None = None,
    workbook: str = WORKBOOK,
    level: int = 9,
) -> Path:
    """A workbook of the given sheet XML (and shared strings), every part deflated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
    return path


def sheet_xml(rows: str, *, dimension: str = "") -> str:
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f"{SHEET_START}{declared}<sheetData>{rows}</sheetData></worksheet>"


# --------------------------------------------------------------------------- declared dimensions


def declared_dimension_sheet(path: Path, *, column: int = 1, row: int = 1_048_576) -> Path:
    """The report's 1.6 KB sheet: it declares ``A1:XFD1048576`` and holds a header in row 1 and
    one row at ``row``, its ID cell in ``column`` (the last column, XFD, is 16384)."""
    far = GOOD_ROW if column == 1 else ["A0701"]
    rows = xml_row(1, MIT_HEADER) + xml_row(row, far, first_column=column)
    return write_workbook(path, sheet_xml(rows, dimension="A1:XFD1048576"))


def blank_rows_sheet(path: Path, *, blank: int) -> Path:
    """A header, ``blank`` empty ``<row>`` elements, then one real row."""
    rows = [xml_row(1, MIT_HEADER)]
    rows.extend(f'<row r="{n}"/>' for n in range(2, blank + 2))
    rows.append(xml_row(blank + 2, GOOD_ROW))
    return write_workbook(path, sheet_xml("".join(rows), dimension="A1:E1048576"))


def wide_row_sheet(path: Path, *, empty_cells: int) -> Path:
    """A header and one row followed by ``empty_cells`` empty cells (styled, as Excel writes
    cells that were formatted but never filled)."""
    empties = "".join(f'<c r="{column_letter(6 + n)}2" s="0"/>' for n in range(empty_cells))
    cells = "".join(inline_cell(n + 1, 2, value) for n, value in enumerate(GOOD_ROW))
    rows = xml_row(1, MIT_HEADER) + f'<row r="2">{cells}{empties}</row>'
    return write_workbook(path, sheet_xml(rows))


# --------------------------------------------------------------------------- zip bombs


def _deflate_stream(path: Path, name: str, head: bytes, filler: bytes, total: int, tail: bytes):
    """Add ``name`` to the zip at ``path``: ``head``, ``filler`` repeated to ``total`` bytes,
    ``tail``, deflated in chunks so that the whole never sits in memory."""
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=total > 2**31) as part,
    ):
        part.write(head)
        chunk = filler * max(1, (1 << 20) // len(filler))
        written = len(head)
        while written + len(chunk) <= total:
            part.write(chunk)
            written += len(chunk)
        part.write(filler * ((total - written) // len(filler)))
        part.write(tail)


def sheet_zip_bomb(path: Path, *, unpacked: int) -> Path:
    """A workbook whose sheet unpacks to ``unpacked`` bytes of empty rows (the report's: 490 KB
    unpacking to 480 MB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
    head = (SHEET_START + "<sheetData>" + xml_row(1, MIT_HEADER)).encode()
    _deflate_stream(
        path, "xl/worksheets/sheet1.xml", head, b"<row/>", unpacked, b"</sheetData></worksheet>"
    )
    return path


def shared_strings_bomb(path: Path, *, unpacked: int) -> Path:
    """A workbook whose shared strings unpack to ``unpacked`` bytes (the report's: 1.1 MB with
    450 MB of shared strings); the sheet itself is small and uses the first strings."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        header = "".join(
            f'<c r="{column_letter(n + 1)}1" t="s"><v>{n}</v></c>' for n in range(len(MIT_HEADER))
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml(f'<row r="1">{header}</row>'))
    head = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}">'.encode()
    head += b"".join(f"<si><t>{escape(name)}</t></si>".encode() for name in MIT_HEADER)
    filler = b"<si><t>" + b"x" * 4000 + b"</t></si>"
    _deflate_stream(path, "xl/sharedStrings.xml", head, filler, unpacked, b"</sst>")
    return path


def lying_sizes_workbook(path: Path, *, unpacked: int) -> Path:
    """A sheet that unpacks to ``unpacked`` bytes while the archive's headers (local and
    central) claim it holds 512 bytes."""
    sheet_zip_bomb(path, unpacked=unpacked)
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_length = struct.unpack("<H", data[at + size_offset + 4 : at + size_offset + 6])
            start = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[start : start + name_length[0]] == name:
                data[at + size_offset : at + size_offset + 4] = struct.pack("<I", 512)
            at += 4
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------- XML entities


def entity_bomb_sheet(path: Path) -> Path:
    """Billion laughs: entities that expand tenfold, nine levels deep, used in a cell."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    sheet = (
        '<?xml version="1.0"?>'
        f"<!DOCTYPE worksheet [{entities}]>"
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>{xml_row(1, MIT_HEADER)}'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return write_workbook(path, sheet)


def external_entity_sheet(path: Path, target: str = "file:///etc/passwd") -> Path:
    """XXE: an external entity naming a local file, used in a cell."""
    sheet = (
        '<?xml version="1.0"?>'
        f'<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "{target}">]>'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>{xml_row(1, MIT_HEADER)}'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>&secret;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return write_workbook(path, sheet)


def entity_bomb_shared_strings(path: Path) -> Path:
    """Billion laughs in the shared strings instead of the sheet."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {"a" * (n + 1)} "{f"&{'a' * n};" * 10}">' for n in range(1, 9)
    )
    strings = (
        f'<?xml version="1.0"?><!DOCTYPE sst [{entities}]><sst xmlns="{MAIN_NS}">'
        f"<si><t>&{'a' * 9};</t></si></sst>"
    )
    sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    return write_workbook(path, sheet, shared_strings=strings)


# --------------------------------------------------------------------------- NUL characters


def nul_cell_csv(path: Path) -> Path:
    """A CSV whose row 2 has a NUL character in its name (column B)."""
    text = ",".join(MIT_HEADER) + "\n" + "A0701,Red-team\x00 the release,,NIST2024,3.1\n"
    path.write_bytes(text.encode("utf-8"))
    return path


def nul_cell_xlsx(path: Path) -> Path:
    """An XLSX whose cell B2 holds ``_x0000_``, OOXML's escape of a NUL character."""
    row = ["A0701", "Red-team_x0000_ the release", "", "NIST2024", "3.1"]
    return write_workbook(path, sheet_xml(xml_row(1, MIT_HEADER) + xml_row(2, row)))


def nul_cell_json(path: Path) -> Path:
    """JSON whose first entry has a NUL character (``\\u0000``) in its name."""
    entry = dict(zip(MIT_HEADER, GOOD_ROW, strict=True))
    entry["Action Name"] = "Red-team\x00 the release"
    path.write_text(json.dumps([entry]))
    return path


# --------------------------------------------------------------------------- JSON


def deep_json(path: Path, *, depth: int = 100_000) -> Path:
    """A list nested ``depth`` levels deep (the report's: 100,000)."""
    path.write_bytes(b"[" * depth + b"]" * depth)
    return path


def many_values_json(path: Path, *, values: int) -> Path:
    """A list of ``values`` empty objects: small on disk, large once parsed."""
    with open(path, "wb") as handle:
        handle.write(b"[")
        chunk = b"{}," * 100_000
        for _ in range(values // 100_000):
            handle.write(chunk)
        handle.write(b"{}," * (values % 100_000))
        handle.write(b"{}]")
    return path


# --------------------------------------------------------------------------- names and types


def pdf_named_csv(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    return path


def long_definition_csv(path: Path, *, length: int) -> Path:
    """A CSV whose row 2 has a definition (column C) of ``length`` characters."""
    row = ["A0701", "Red-team the release", "d" * length, "NIST2024", "3.1"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(MIT_HEADER) + "\n" + ",".join(row) + "\n")
    return path
