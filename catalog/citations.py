"""Citations of what the catalog publishes, in the formats reference managers read.

A :class:`Citation` is a plain description of the thing cited (a record, a release …): who
made it, its title, which version, where it lives, when it was read. Each formatter turns one
into text: :func:`plain_text`, :func:`bibtex`, :func:`ris` and :func:`csl_json`.
:data:`FORMATS` names the downloadable ones with their media types and file extensions, and
:func:`download` answers a request for one. Builders such as :func:`mitigation_citation` know
how to describe one kind of thing; anything else citable (a data release) needs only its own
builder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse
from django.utils import timezone

PUBLISHER = "AIRM Curator"

ENTRY = "entry"  # one record of the database
DATASET = "dataset"  # the database, or a release of it, as a whole


@dataclass(frozen=True)
class Citation:
    """What a reference needs, with no format in it.

    ``authors`` are names as written (an organisation or a person); ``issued`` is the date of
    the version cited and ``version`` its label; ``identifier`` what the thing is known by
    inside the catalog (a public ID, a release version); ``container`` the database a record
    belongs to (empty for a whole dataset); ``accessed`` when it was read, if that matters.
    """

    key: str
    kind: str
    title: str
    authors: tuple[str, ...]
    issued: date
    url: str
    identifier: str = ""
    version: str = ""
    container: str = ""
    publisher: str = PUBLISHER
    accessed: date | None = None
    note: str = ""
    doi: str = ""
    licence: str = ""


def long_date(day: date) -> str:
    """``2 December 2025``."""
    return f"{day.day} {day:%B %Y}"


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


# --------------------------------------------------------------------------- plain text


def plain_text(citation: Citation) -> str:
    """``AIRM Curator (2025). “Adversarial training” [A0983]. From …. Version of 2 December
    2025. Retrieved 3 December 2025 from https://…``"""
    parts = [f"{'; '.join(citation.authors)} ({citation.issued.year})."]
    label = f" [{citation.identifier}]" if citation.identifier else ""
    parts.append(f"“{_one_line(citation.title)}”{label}.")
    if citation.container and citation.container not in citation.authors:
        parts.append(f"In {citation.container}.")
    if citation.note:
        parts.append(_one_line(citation.note).rstrip(".") + ".")
    parts.append(
        f"Version {citation.version}."
        if citation.kind == DATASET and citation.version
        else f"Version of {long_date(citation.issued)}."
    )
    if citation.doi:
        parts.append(f"https://doi.org/{citation.doi}.")
    if citation.accessed:
        parts.append(f"Retrieved {long_date(citation.accessed)} from {citation.url}")
    else:
        parts.append(citation.url)
    return " ".join(parts)


# --------------------------------------------------------------------------- BibTeX

_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_RE = re.compile("|".join(re.escape(char) for char in _BIBTEX_SPECIAL))
_KEY_RE = re.compile(r"[^A-Za-z0-9_:.-]+")


def bibtex_escape(text: str) -> str:
    return _BIBTEX_RE.sub(lambda match: _BIBTEX_SPECIAL[match.group()], _one_line(text))


def _bibtex_url(url: str) -> str:
    # biblatex reads the url field verbatim; only braces could unbalance the entry.
    return _one_line(url).replace("{", "%7B").replace("}", "%7D")


def bibtex(citation: Citation) -> str:
    """A ``@misc`` entry (read by BibTeX and biblatex alike), UTF-8. Authors that are
    organisations are braced so that they are not split into first and last names."""
    fields = [
        ("author", " and ".join(f"{{{bibtex_escape(name)}}}" for name in citation.authors)),
        ("title", f"{{{bibtex_escape(citation.title)}}}"),
        ("year", str(citation.issued.year)),
        ("date", citation.issued.isoformat()),
    ]
    if citation.container:
        fields.append(("howpublished", bibtex_escape(citation.container)))
    if citation.publisher:
        fields.append(("publisher", bibtex_escape(citation.publisher)))
    if citation.version:
        fields.append(("version", bibtex_escape(citation.version)))
    if citation.identifier:
        fields.append(("number", bibtex_escape(citation.identifier)))
    if citation.doi:
        fields.append(("doi", bibtex_escape(citation.doi)))
    fields.append(("url", _bibtex_url(citation.url)))
    if citation.accessed:
        fields.append(("urldate", citation.accessed.isoformat()))
    if citation.note:
        fields.append(("note", bibtex_escape(citation.note)))
    if citation.licence:
        fields.append(("license", bibtex_escape(citation.licence)))
    key = _KEY_RE.sub("-", citation.key).strip("-") or "airm"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


# --------------------------------------------------------------------------- RIS

_RIS_TYPES = {ENTRY: "DBASE", DATASET: "DATA"}


def _ris_date(day: date) -> str:
    return f"{day:%Y/%m/%d}"


def ris(citation: Citation) -> str:
    """An RIS record (one tag a line, CRLF line ends, ``ER`` last)."""
    lines = [("TY", _RIS_TYPES.get(citation.kind, "GEN"))]
    lines += [("AU", name) for name in citation.authors]
    lines += [
        ("TI", citation.title),
        ("PY", str(citation.issued.year)),
        ("DA", _ris_date(citation.issued)),
    ]
    if citation.container:
        lines.append(("DB", citation.container))
    if citation.publisher:
        lines.append(("PB", citation.publisher))
    if citation.version:
        lines.append(("ET", citation.version))
    if citation.identifier:
        lines.append(("M1", citation.identifier))
    if citation.doi:
        lines.append(("DO", citation.doi))
    lines.append(("UR", citation.url))
    if citation.accessed:
        lines.append(("Y2", _ris_date(citation.accessed)))
    if citation.note:
        lines.append(("N1", citation.note))
    if citation.licence:
        lines.append(("C1", citation.licence))
    lines.append(("ER", ""))
    return "".join(f"{tag}  - {_one_line(value)}\r\n" for tag, value in lines)


# --------------------------------------------------------------------------- CSL-JSON


def _csl_date(day: date) -> dict:
    return {"date-parts": [[day.year, day.month, day.day]]}


def csl_item(citation: Citation) -> dict:
    """One CSL-JSON item (the format of citeproc, Zotero and pandoc)."""
    item: dict = {
        "id": citation.key,
        "type": citation.kind,
        "title": _one_line(citation.title),
        "author": [{"literal": name} for name in citation.authors],
        "issued": _csl_date(citation.issued),
        "URL": citation.url,
    }
    if citation.container:
        item["container-title"] = citation.container
    if citation.publisher:
        item["publisher"] = citation.publisher
    if citation.version:
        item["version"] = citation.version
    if citation.identifier:
        item["number"] = citation.identifier
    if citation.doi:
        item["DOI"] = citation.doi
    if citation.accessed:
        item["accessed"] = _csl_date(citation.accessed)
    if citation.note:
        item["note"] = _one_line(citation.note)
    if citation.licence:
        item["license"] = citation.licence
    return item


def csl_json(citation: Citation) -> str:
    """A CSL-JSON document: a list holding the one item."""
    return json.dumps([csl_item(citation)], ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- downloads


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    media_type: str
    render: Callable[[Citation], str]


FORMATS: dict[str, Format] = {
    format.extension: format
    for format in (
        Format("BibTeX", "bib", "application/x-bibtex", bibtex),
        Format("RIS", "ris", "application/x-research-info-systems", ris),
        Format("CSL-JSON", "json", "application/vnd.citationstyles.csl+json", csl_json),
    )
}


def download(citation: Citation, extension: str, *, filename: str) -> HttpResponse:
    """The citation in the format with ``extension`` (a key of :data:`FORMATS`) as a file."""
    chosen = FORMATS[extension]
    response = HttpResponse(
        chosen.render(citation), content_type=f"{chosen.media_type}; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{extension}"'
    return response


def rendered(
    citation: Citation, *, download: Callable[[str], str], name: str
) -> list[tuple[Format, str, str, str]]:
    """Every downloadable format with its text, its download's address (``download`` of the
    format's extension) and file name (``name`` and the extension), for a page that shows them
    all (``templates/includes/_citation.html``)."""
    return [
        (chosen, chosen.render(citation), download(chosen.extension), f"{name}.{chosen.extension}")
        for chosen in FORMATS.values()
    ]


# --------------------------------------------------------------------------- records


def mitigation_citation(mitigation, *, url: str, accessed: date | None) -> Citation:
    """A record of the catalog, cited at its current version (its last change).

    ``mitigation`` comes with its ``source``; ``url`` is its permanent address.
    """
    source = mitigation.source
    origin = source.first_author or source.short_ref
    if source.year:
        origin += f" ({source.year})"
    note = f"From {origin}, {_one_line(source.title)}"
    if mitigation.section_path:
        note += f", {_one_line(mitigation.section_path)}"
    issued = timezone.localdate(mitigation.updated_at)
    return Citation(
        key=f"airm-{mitigation.public_id}",
        kind=ENTRY,
        title=mitigation.name,
        authors=(PUBLISHER,),
        issued=issued,
        url=url,
        identifier=mitigation.public_id,
        version=issued.isoformat(),
        container=PUBLISHER,
        accessed=accessed,
        note=note,
    )
