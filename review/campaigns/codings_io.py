"""Codings in and out as spreadsheets, in one long format: one row per record, coder and code.

Columns: ``record`` (public ID), ``coder`` (username), ``code`` (a node code; several joined
by "; " for a multi-valued taxonomy, or one row each), ``reasoning`` and ``unsure``
(optional). Files are read by the catalog's bounded readers (:mod:`catalog.imports.readers`);
an import is atomic (any error and nothing is written) and has a dry run that shows what it
would do, row by row.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.exports import iter_csv, write_xlsx
from catalog.imports.readers import FileProblem, open_table
from catalog.models import Mitigation, TaxonomyNode, parse_public_id
from catalog.spreadsheet import make_inert, undo_inert
from catalog.validation import error_text

from . import services
from .models import REASONING_MAX, Campaign
from .selectors import codings_for_export

COLUMNS = ("record", "coder", "code", "reasoning", "unsure")
EXPORT_COLUMNS = (*COLUMNS, "skipped", "coded_at")
REQUIRED = ("record", "coder", "code")
TRUE = {"1", "true", "yes", "y", "x", "unsure"}
FALSE = {"", "0", "false", "no", "n"}


@dataclass
class RowOutcome:
    row: int
    record: str
    coder: str
    codes: list[str]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportResult:
    rows: list[RowOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    codings: int = 0
    dry_run: bool = True
    applied: bool = False

    @property
    def error_count(self) -> int:
        return sum(1 for row in self.rows if row.errors) + len(self.problems)


@dataclass
class _Group:
    record: str
    coder: str
    rows: list[RowOutcome]
    codes: list[str] = field(default_factory=list)
    reasoning: str = ""
    unsure: bool = False


def _cell(cells, index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    value = cells[index]
    return str(undo_inert(value) if isinstance(value, str) else value).strip()


def import_codings(
    *, campaign: Campaign, path: Path, file_name: str, actor, dry_run: bool
) -> ImportResult:
    """Read the file and, unless ``dry_run`` or a row is wrong, record its codings (each
    through :func:`services.coding_submit`, for the coder the row names, by ``actor``)."""
    result = ImportResult(dry_run=dry_run)
    try:
        table = open_table(path, file_name=file_name)
        header = [name.strip().lower() for name in table.header]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            result.problems.append(
                "The file has no column "
                + ", ".join(f"“{name}”" for name in missing)
                + f" (the columns are: {', '.join(COLUMNS)})."
            )
            return result
        at = {name: header.index(name) for name in (*COLUMNS, "skipped") if name in header}
        ignored = [name for name in table.header if name.strip().lower() not in at]
        if ignored:
            result.notices.append("Columns ignored: " + ", ".join(ignored))
        groups: dict[tuple[str, str], _Group] = {}
        for number, cells in table.rows():
            record = _cell(cells, at.get("record"))
            coder = _cell(cells, at.get("coder"))
            if _cell(cells, at.get("skipped")).lower() in TRUE - {"unsure"}:
                continue  # an exported skip: nothing to import
            codes = [c.strip() for c in _cell(cells, at.get("code")).split(";") if c.strip()]
            outcome = RowOutcome(row=number, record=record, coder=coder, codes=codes)
            result.rows.append(outcome)
            unsure_text = _cell(cells, at.get("unsure")).lower()
            if unsure_text not in TRUE | FALSE:
                outcome.errors.append(f"unsure: “{unsure_text}” is neither yes nor no.")
            reasoning = _cell(cells, at.get("reasoning"))
            if len(reasoning) > REASONING_MAX:
                outcome.errors.append(f"reasoning: longer than {REASONING_MAX} characters.")
            if not record:
                outcome.errors.append("record: empty.")
            if not coder:
                outcome.errors.append("coder: empty.")
            if not codes:
                outcome.errors.append("code: empty.")
            key = (record.upper(), coder)
            group = groups.setdefault(key, _Group(record=record, coder=coder, rows=[]))
            group.rows.append(outcome)
            group.codes.extend(code for code in codes if code not in group.codes)
            group.reasoning = group.reasoning or reasoning
            group.unsure = group.unsure or unsure_text in TRUE
    except FileProblem as problem:
        result.problems.append(str(problem))
        return result
    if not result.rows:
        result.problems.append("The file has no codings.")
        return result
    _apply(campaign, groups.values(), actor, result)
    return result


def _apply(campaign: Campaign, groups: Iterable[_Group], actor, result: ImportResult) -> None:
    groups = list(groups)
    nodes = {node.code: node for node in TaxonomyNode.objects.filter(taxonomy=campaign.taxonomy)}
    # One query each for the file's people and records, whatever its length.
    users = {
        user.get_username(): user
        for user in get_user_model().objects.filter(username__in={g.coder for g in groups})
    }
    numbers = {n for g in groups if (n := parse_public_id(g.record)) is not None}
    records = {m.number: m for m in Mitigation.objects.filter(number__in=numbers)}
    with transaction.atomic():
        for group in groups:
            errors: list[str] = []
            user = users.get(group.coder) if group.coder else None
            if group.coder and user is None:
                errors.append(f"coder: no user “{group.coder}”.")
            number = parse_public_id(group.record)
            mitigation = records.get(number) if number else None
            if group.record and mitigation is None:
                errors.append(f"record: no record “{group.record}”.")
            unknown = [code for code in group.codes if code not in nodes]
            if unknown:
                errors.append(f"code: {', '.join(unknown)} not in {campaign.taxonomy.name}.")
            clean = not errors and not any(row.errors for row in group.rows)
            if clean and user is not None and mitigation is not None:
                try:
                    with transaction.atomic():
                        services.coding_submit(
                            campaign=campaign,
                            mitigation=mitigation,
                            coder=user,
                            nodes=[nodes[code] for code in group.codes],
                            reasoning=group.reasoning,
                            unsure=group.unsure,
                            imported=True,
                            actor=actor,
                        )
                    result.codings += 1
                except ValidationError as error:
                    errors.append(error_text(error))
                except services.CampaignError as error:
                    errors.append(error.message)
            for row in group.rows:
                row.errors.extend(errors)
        if result.dry_run or result.error_count:
            transaction.set_rollback(True)
        else:
            result.applied = True


# --------------------------------------------------------------------------- out


def export_table(campaign: Campaign) -> Iterator[list[str]]:
    yield list(EXPORT_COLUMNS)
    for row in codings_for_export(campaign):
        yield [make_inert(row[name]) for name in EXPORT_COLUMNS]


def export_csv(campaign: Campaign) -> Iterator[bytes]:
    return iter_csv(export_table(campaign))


def export_xlsx(campaign: Campaign) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(export_table(campaign), buffer)
    return buffer.getvalue()
