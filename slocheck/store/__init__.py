"""The store: the history of runs, a SQLite file or a PostgreSQL database (``store.history``,
``store.backends``), and the records a run leaves in it (``store.run_record``). The comparisons
themselves are in ``regress``.

Import the modules themselves; this package only names the default history and says which one
a command uses, so that the CLI can show it without loading the store."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_HISTORY = "slocheck-history.sqlite"
#: The environment variable naming the history when no --history is given: a path, or a
#: postgresql:// URL (the password in PGPASSWORD or ~/.pgpass)
HISTORY_ENV = "SLOCHECK_HISTORY"

__all__ = ["DEFAULT_HISTORY", "HISTORY_ENV", "history_exists", "history_location"]


def history_location(given: str | None) -> str:
    """The history a command uses: ``--history``, else ``$SLOCHECK_HISTORY``, else the
    default file."""
    return given or os.environ.get(HISTORY_ENV) or DEFAULT_HISTORY


def history_exists(location: str) -> bool:
    """Whether there is a history to read at ``location``: a PostgreSQL database always is
    one to try (an empty one reads as no runs), a file must exist."""
    return urlsplit(location).scheme in ("postgresql", "postgres") or Path(location).exists()
