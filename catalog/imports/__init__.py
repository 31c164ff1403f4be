"""Spreadsheet imports: mitigations, source documents and taxonomy nodes, in CSV, TSV, XLSX
or JSON, in the catalog's own layout or MIT's.

- :mod:`.readers`: a file as a table of text cells, bounded and safe;
- :mod:`.layouts`: which layout a header is, and where each field sits;
- :mod:`.pipeline`: every row planned as new / changed / unchanged / error, and written in bulk
  through :mod:`catalog.services` when applying;
- :mod:`.batches`: the admin's upload → preview → confirm → revert, and the command line's run.
"""
