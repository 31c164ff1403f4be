"""Classification campaigns: many people code the catalog's records into one taxonomy,
independently, then agreement is measured and a curator adjudicates the final codes.

A Django app of its own (label ``campaigns``): ``models`` (campaigns, their records, codings,
adjudications), ``services`` (every write), ``permissions`` (who may do what), ``selectors``
(the queue, progress, the report), ``codings_io`` (codings in and out as spreadsheets), views.
``agreement`` and ``suggest`` compute the statistics and the suggestions.
"""
