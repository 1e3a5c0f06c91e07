"""The store: the SQLite history of runs (``store.history``) and the records a run leaves in it
(``store.run_record``). Reads and writes files; the comparisons themselves are in ``regress``.

Import the modules themselves; this package only names the default database, so that the CLI
can show it without loading the store."""

DEFAULT_HISTORY = "slocheck-history.sqlite"

__all__ = ["DEFAULT_HISTORY"]
