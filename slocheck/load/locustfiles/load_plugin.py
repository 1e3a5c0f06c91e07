"""Given to Locust with ``-f``: loads the recording plugin once, under its package name, so
that a locustfile importing ``record_metric`` shares the same recorder."""

from slocheck.load.locustfiles import plugin  # noqa: F401
