"""Factories that build catalog data through the real services (so history is real too)."""

from __future__ import annotations

import factory

from catalog import services
from catalog.models import Mitigation, SourceDocument, Taxonomy, TaxonomyNode

TEST_REASON = "Test data"


class ServiceFactory(factory.django.DjangoModelFactory):
    """Creates through ``_service`` with an actor (default none: the system) and a reason."""

    class Meta:
        abstract = True

    _service = None

    @classmethod
    def _create(cls, model_class, *args, actor=None, reason=TEST_REASON, **kwargs):
        return cls._service(actor=actor, reason=reason, **kwargs)


class TaxonomyFactory(ServiceFactory):
    class Meta:
        model = Taxonomy

    _service = staticmethod(services.taxonomy_create)
    slug = factory.Sequence(lambda n: f"taxonomy-{n}")
    name = factory.Sequence(lambda n: f"Test taxonomy {n}")
    status = Taxonomy.Status.PUBLISHED
    order = factory.Sequence(lambda n: 100 + n)


class TaxonomyNodeFactory(ServiceFactory):
    class Meta:
        model = TaxonomyNode

    _service = staticmethod(services.taxonomy_node_create)
    taxonomy = factory.SubFactory(TaxonomyFactory)
    code = factory.Sequence(lambda n: f"N{n}")
    name = factory.Sequence(lambda n: f"Node {n}")
    definition = "A node for tests."


class SourceDocumentFactory(ServiceFactory):
    class Meta:
        model = SourceDocument

    _service = staticmethod(services.source_document_create)
    short_ref = factory.Sequence(lambda n: f"Author{n}2024")
    title = factory.Sequence(lambda n: f"A framework for safer AI, part {n}")
    first_author = "Author"
    year = 2024
    doc_type = SourceDocument.DocType.PREPRINT


class MitigationFactory(ServiceFactory):
    class Meta:
        model = Mitigation

    _service = staticmethod(services.mitigation_create)
    name = factory.Sequence(lambda n: f"Test mitigation {n}")
    definition = "Developers check the thing before they ship it."
    source = factory.SubFactory(SourceDocumentFactory)
    section_path = "Testing > Before release"
    placements = ()


def place(*nodes, reasoning: str = "") -> list[services.Placement]:
    return [services.Placement(node=node, reasoning=reasoning) for node in nodes]
