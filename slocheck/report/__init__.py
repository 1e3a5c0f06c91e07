"""Reports (terminal, JSON, JUnit XML, Markdown, HTML), written atomically. Reads ``results``;
never the store."""

from slocheck.report.atomic import write_atomic
from slocheck.report.writers import SCHEMA_VERSION, to_dict, to_json, to_junit, to_markdown

__all__ = ["SCHEMA_VERSION", "to_dict", "to_json", "to_junit", "to_markdown", "write_atomic"]
