"""Forms for proposing changes, discussing them and setting one's preferences.

Each proposal form shows the record's current values and turns what was typed into the stored
form of :mod:`review.changes` (``to_changes()``); the workflow validates again before it saves.
"""

from __future__ import annotations

from typing import cast

from django import forms

from catalog import limits
from catalog.models import (
    DocType,
    Mitigation,
    SourceDocument,
    Taxonomy,
    TaxonomyNode,
    format_public_id,
    parse_public_id,
)

from . import changes as proposal_changes
from . import selectors
from .changes import (
    EditChanges,
    MergeChanges,
    NewMitigationChanges,
    NewSourceChanges,
    ProposalChanges,
    ReclassifyChanges,
    RetireChanges,
)
from .models import ProposalKind


class _NodeOptions:
    """Each option of a node picker carries its node's depth and definition, so that the page
    shows every node's definition beside it while one is chosen (``_node_picker.html``)."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        node = getattr(value, "instance", None)
        option["depth"] = node.depth if node is not None else 0
        option["definition"] = node.definition if node is not None else ""
        return option


class NodeRadioSelect(_NodeOptions, forms.RadioSelect):
    pass


class NodeCheckboxes(_NodeOptions, forms.CheckboxSelectMultiple):
    pass


class NodeChoiceField(forms.ModelChoiceField):
    widget = NodeRadioSelect

    def label_from_instance(self, obj):
        return obj.label


class NodeMultipleChoiceField(forms.ModelMultipleChoiceField):
    widget = NodeCheckboxes

    def label_from_instance(self, obj):
        return obj.label


def _node_field(taxonomy: Taxonomy, *, required: bool, label: str):
    nodes = TaxonomyNode.objects.filter(taxonomy=taxonomy).order_by("path")
    messages = {
        "invalid_choice": f"That node is not in {taxonomy.name}; choose one from the list.",
        "invalid_pk_value": f"That node is not in {taxonomy.name}; choose one from the list.",
        "required": "Choose a node.",
    }
    if taxonomy.multi_valued:
        return NodeMultipleChoiceField(
            queryset=nodes, required=required, label=label, error_messages=messages
        )
    return NodeChoiceField(
        queryset=nodes,
        required=required,
        label=label,
        empty_label="(not classified)",
        error_messages=messages,
    )


def _field_name(taxonomy: Taxonomy, prefix: str) -> str:
    return f"{prefix}_{taxonomy.slug.replace('-', '_')}"


class ProposalForm(forms.Form):
    """What every proposal asks: why, and optionally the words of the source."""

    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.NOTE,
        help_text="Why should this change be made? Curators read this first.",
        error_messages={"required": "Say why this change should be made."},
    )

    def __init__(self, *args, proposal=None, **kwargs):
        self.proposal = proposal
        super().__init__(*args, **kwargs)
        if proposal is not None:
            self.initial.setdefault("rationale", proposal.rationale)
            if "source_quote" in self.fields:
                self.initial.setdefault("source_quote", proposal.source_quote)

    def to_changes(self) -> ProposalChanges:
        raise NotImplementedError


class QuoteMixin(forms.Form):
    source_quote = forms.CharField(
        label="Quoted passage of the source (optional)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=limits.NOTE,
        help_text="The words of the source that support the change.",
    )


class _RecordFields(forms.Form):
    name = forms.CharField(max_length=500, error_messages={"required": "Give a name."})
    definition = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=limits.DEFINITION,
        help_text="The source's wording; may be empty.",
    )
    source = forms.ModelChoiceField(
        queryset=SourceDocument.objects.order_by("short_ref"),
        label="Source document",
        error_messages={
            "required": "Choose the source document.",
            "invalid_choice": "That source document does not exist; choose one from the list.",
        },
    )
    section_path = forms.CharField(
        label="Section in source",
        max_length=500,
        required=False,
        help_text="The source's own section path, levels joined by ' > '.",
    )


class NewMitigationForm(_RecordFields, QuoteMixin, ProposalForm):
    not_duplicate = forms.BooleanField(
        label="I have checked the similar mitigations listed; mine is a different one.",
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.similar = []
        self.taxonomies = list(Taxonomy.objects.exclude(status=Taxonomy.Status.RETIRED))
        current, reasons = {}, {}
        if self.proposal is not None:
            changes = self.proposal.changes
            for key in ("name", "definition", "source", "section_path"):
                self.initial.setdefault(key, changes.get(key))
            for node in TaxonomyNode.objects.filter(
                pk__in=[node for node, _ in changes.get("placements", [])]
            ):
                current.setdefault(node.taxonomy_id, []).append(node)
            reasons = dict(map(tuple, changes.get("placements", [])))
        for taxonomy in self.taxonomies:
            node_name = _field_name(taxonomy, "node")
            self.fields[node_name] = _node_field(taxonomy, required=False, label=taxonomy.name)
            self.fields[_field_name(taxonomy, "reasoning")] = forms.CharField(
                label=f"Why this {taxonomy.name} node? (optional, one line)",
                max_length=1000,
                required=False,
            )
            chosen = current.get(taxonomy.pk, [])
            if chosen:
                self.initial.setdefault(
                    node_name, [n.pk for n in chosen] if taxonomy.multi_valued else chosen[0].pk
                )
                self.initial.setdefault(
                    _field_name(taxonomy, "reasoning"), reasons.get(chosen[0].pk, "")
                )
        if self.proposal is not None and self.proposal.changes.get("number") is not None:
            # A proposal from a spreadsheet row may carry the row's own public ID.
            self.fields["public_id"] = forms.CharField(
                label="Public ID",
                max_length=30,
                required=False,
                help_text="From the spreadsheet. Leave it empty to give the record the next "
                "free public ID when it is approved.",
            )
            self.initial.setdefault("public_id", format_public_id(self.proposal.changes["number"]))
        # Put the rationale, quote and duplicate check after the classification fields.
        for name in ("rationale", "source_quote", "not_duplicate"):
            self.fields[name] = self.fields.pop(name)

    def clean_public_id(self) -> int | None:
        typed = self.cleaned_data["public_id"].strip().upper()
        if not typed:
            return None
        number = parse_public_id(typed)
        if number is None:
            raise forms.ValidationError(f"“{typed}” is not a public ID like A0983.")
        return number

    def taxonomy_fields(self):
        return [
            (self[_field_name(t, "node")], self[_field_name(t, "reasoning")])
            for t in self.taxonomies
        ]

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name")
        if name:
            self.similar = selectors.mitigation_list_similar(name)
            if self.similar and not cleaned.get("not_duplicate"):
                self.add_error(
                    "not_duplicate",
                    "Similar mitigations exist (listed above). Check that yours is not one of "
                    "them, then tick this box.",
                )
        return cleaned

    def to_changes(self) -> NewMitigationChanges:
        data = self.cleaned_data
        placements = []
        for taxonomy in self.taxonomies:
            chosen = data.get(_field_name(taxonomy, "node"))
            if not chosen:
                continue
            reasoning = data.get(_field_name(taxonomy, "reasoning"), "").strip()
            nodes = list(chosen) if taxonomy.multi_valued else [chosen]
            placements.extend([node.pk, reasoning] for node in nodes)
        changes: NewMitigationChanges = {
            "name": data["name"].strip(),
            "definition": data["definition"].strip(),
            "source": data["source"].pk,
            "section_path": data["section_path"].strip(),
            "placements": placements,
        }
        if data.get("public_id") is not None:
            changes["number"] = data["public_id"]
        return changes


class EditForm(_RecordFields, ProposalForm):
    def __init__(self, *args, mitigation: Mitigation, **kwargs):
        self.mitigation = mitigation
        super().__init__(*args, **kwargs)
        proposed = self.proposal.changes if self.proposal is not None else {}
        for key in proposal_changes.EDITABLE_FIELDS:
            value = getattr(mitigation, Mitigation._meta.get_field(key).attname)
            self.initial.setdefault(key, proposed.get(key, value))
        self.fields["rationale"] = self.fields.pop("rationale")

    def to_changes(self) -> EditChanges:
        data = self.cleaned_data
        typed: EditChanges = {
            "name": data["name"].strip(),
            "definition": data["definition"].strip(),
            "source": data["source"].pk,
            "section_path": data["section_path"].strip(),
        }
        current = proposal_changes.snapshot(self.mitigation, list(typed), {})
        return cast(
            EditChanges, {key: value for key, value in typed.items() if current[key] != value}
        )


class ReclassifyForm(QuoteMixin, ProposalForm):
    reasoning = forms.CharField(
        label="Reasoning shown on the record (optional, one line)",
        max_length=1000,
        required=False,
    )

    def __init__(self, *args, mitigation: Mitigation, taxonomy: Taxonomy, **kwargs):
        self.mitigation = mitigation
        self.taxonomy = taxonomy
        super().__init__(*args, **kwargs)
        self.fields["node"] = _node_field(
            taxonomy, required=not taxonomy.multi_valued, label=f"New node in {taxonomy.name}"
        )
        if self.proposal is not None:
            placements = self.proposal.changes.get("placements", [])
        else:
            placements = [
                [c.node_id, c.reasoning]
                for c in mitigation.classifications.filter(taxonomy=taxonomy)
            ]
        node_ids = [node for node, _ in placements]
        self.initial.setdefault(
            "node", node_ids if taxonomy.multi_valued else (node_ids[0] if node_ids else None)
        )
        self.initial.setdefault("reasoning", placements[0][1] if placements else "")
        for name in ("reasoning", "rationale", "source_quote"):
            self.fields[name] = self.fields.pop(name)

    def to_changes(self) -> ReclassifyChanges:
        chosen = self.cleaned_data.get("node")
        nodes = list(chosen or []) if self.taxonomy.multi_valued else [chosen]
        reasoning = self.cleaned_data.get("reasoning", "").strip()
        return {"placements": [[node.pk, reasoning] for node in nodes if node is not None]}


class RetireForm(ProposalForm):
    def __init__(self, *args, mitigation: Mitigation, **kwargs):
        self.mitigation = mitigation
        super().__init__(*args, **kwargs)
        self.fields["rationale"].label = "Reason for retiring it"
        self.fields[
            "rationale"
        ].help_text = "Shown on the record once retired, e.g. why it is not a mitigation."

    def to_changes(self) -> RetireChanges:
        return {}


class MergeForm(ProposalForm):
    into = forms.CharField(
        label="Merge into (public ID of the record to keep)",
        max_length=30,
        help_text="For example A0983. This record becomes a pointer to that one.",
        error_messages={"required": "Give the public ID of the record to keep."},
    )

    def __init__(self, *args, mitigation: Mitigation, **kwargs):
        self.mitigation = mitigation
        super().__init__(*args, **kwargs)
        if self.proposal is not None:
            into = Mitigation.objects.filter(pk=self.proposal.changes.get("into")).first()
            if into is not None:
                self.initial.setdefault("into", into.public_id)
        self.fields["rationale"] = self.fields.pop("rationale")

    def clean_into(self) -> Mitigation:
        typed = self.cleaned_data["into"].strip().upper()
        number = parse_public_id(typed)
        into = Mitigation.objects.filter(number=number).first() if number else None
        if into is None:
            raise forms.ValidationError(f"There is no mitigation {typed or '(empty)'}.")
        if into.pk == self.mitigation.pk:
            raise forms.ValidationError("A record cannot be merged into itself.")
        if into.status != Mitigation.Status.ACTIVE:
            raise forms.ValidationError(
                f"{into.public_id} is {into.get_status_display().lower()}; "
                "merge into an active record."
            )
        return into

    def to_changes(self) -> MergeChanges:
        return {"into": self.cleaned_data["into"].pk}


class NewSourceForm(ProposalForm):
    """A source document the catalog lacks. Duplicates (the same DOI or address, a similar
    title) are listed and must be acknowledged, as similar mitigations are."""

    short_ref = forms.CharField(
        label="Short reference",
        max_length=100,
        help_text="The citation key mitigations will cite, e.g. Gipiškis2024 (first author's "
        "surname and the year).",
        error_messages={"required": "Give the document a short reference."},
    )
    title = forms.CharField(
        max_length=500, error_messages={"required": "Give the document's title."}
    )
    authors = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=limits.AUTHORS,
        required=False,
        help_text="One per line, or separated by semicolons; the first is the first author.",
    )
    year = forms.IntegerField(
        min_value=1900,
        max_value=2100,
        required=False,
        error_messages={"invalid": "Give the year as a whole number, e.g. 2024."},
    )
    doc_type = forms.ChoiceField(label="Type", choices=DocType.choices)
    url = forms.URLField(
        label="URL",
        max_length=1000,
        required=False,
        assume_scheme="https",
        help_text="Where the document can be read.",
    )
    doi = forms.CharField(
        label="DOI",
        max_length=200,
        required=False,
        help_text="For example 10.48550/arXiv.2410.00001.",
    )
    abstract = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), max_length=limits.ABSTRACT, required=False
    )
    not_duplicate = forms.BooleanField(
        label="I have checked the similar source documents listed; mine is a different one.",
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates: list = []
        if self.proposal is not None:
            for key in ("short_ref", "title", "authors", "year", "url", "doi", "doc_type"):
                self.initial.setdefault(key, self.proposal.changes.get(key))
            self.initial.setdefault("abstract", self.proposal.changes.get("abstract"))
        for name in ("rationale", "not_duplicate"):
            self.fields[name] = self.fields.pop(name)
        self.fields["rationale"].help_text = (
            "Why should the catalog hold this document? E.g. the mitigations you mean to propose "
            "from it."
        )

    def clean_short_ref(self) -> str:
        short_ref = self.cleaned_data["short_ref"].strip()
        if SourceDocument.objects.filter(short_ref=short_ref).exists():
            raise forms.ValidationError(
                f"The catalog already has a source document {short_ref}: cite it as it is."
            )
        return short_ref

    def clean_doi(self) -> str:
        doi = self.cleaned_data["doi"].strip()
        return selectors.normalise_doi(doi) if doi else ""

    def clean(self):
        cleaned = super().clean()
        if any(cleaned.get(key) for key in ("title", "url", "doi")):
            exclude = self.proposal.source_document_id if self.proposal is not None else None
            self.duplicates = selectors.source_list_similar(
                title=cleaned.get("title") or "",
                url=cleaned.get("url") or "",
                doi=cleaned.get("doi") or "",
                exclude_pk=exclude,
            )
            if self.duplicates and not cleaned.get("not_duplicate"):
                self.add_error(
                    "not_duplicate",
                    "Similar source documents exist (listed above). Check that yours is not one "
                    "of them, then tick this box.",
                )
        return cleaned

    def to_changes(self) -> NewSourceChanges:
        data = self.cleaned_data
        return {
            "short_ref": data["short_ref"],
            "title": data["title"].strip(),
            "authors": data["authors"].strip(),
            "year": data.get("year"),
            "url": data["url"].strip(),
            "doi": data["doi"],
            "doc_type": data["doc_type"],
            "abstract": data["abstract"].strip(),
        }


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=limits.COMMENT,
        error_messages={"required": "Write a comment first."},
    )


class SpreadsheetUploadForm(forms.Form):
    file = forms.FileField(
        label="Spreadsheet",
        widget=forms.FileInput(attrs={"accept": ".csv,.tsv,.tab,.txt,.xlsx,.json"}),
        error_messages={
            "required": "Choose a file to upload.",
            "empty": "The file is empty.",
        },
    )


class BatchRationaleForm(forms.Form):
    rationale = forms.CharField(
        label="Why these changes?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.NOTE,
        help_text="Copied to every proposal of the batch; curators read it first.",
        error_messages={
            "required": "Say why these changes should be made: the note goes with every one."
        },
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=150,
        required=False,
        help_text="Shown next to your proposals and comments. Empty: your username.",
    )
    email_on_submission = forms.BooleanField(
        label="Email me when a proposal is submitted for review (curators)", required=False
    )
    email_on_my_proposals = forms.BooleanField(
        label="Email me about my proposals: decisions, requests for changes, comments",
        required=False,
    )


def form_for(kind: str):
    return {
        ProposalKind.NEW: NewMitigationForm,
        ProposalKind.EDIT: EditForm,
        ProposalKind.RECLASSIFY: ReclassifyForm,
        ProposalKind.RETIRE: RetireForm,
        ProposalKind.MERGE: MergeForm,
        ProposalKind.NEW_SOURCE: NewSourceForm,
    }[kind]
