"""The read API, ``/api/v1/``: Django REST framework over the catalog's selectors and filters.

- ``views``: one thin view per endpoint; the mitigation list runs the public list's own
  :class:`~catalog.filters.MitigationFilterSet`, so it takes the same parameters and returns the
  same records in the same order as ``/mitigations/``.
- ``serializers``: what a record, taxonomy, node, source and the coverage matrix look like.
- ``pagination``: keyset (cursor) pagination over whatever order the list is sorted in.
- ``schema``: the OpenAPI description, with the list's parameters drawn from the FilterSet.
- ``errors``: every error as JSON naming the parameter at fault.
- ``throttling``, ``negotiation``: anonymous throttling through the cache; JSON only.

Nothing here writes: the API is read-only (GET, HEAD, OPTIONS).
"""
