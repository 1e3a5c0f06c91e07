"""The curated public API (slocheck/__init__.py): every name resolves, lazily."""

from __future__ import annotations

import inspect

import slocheck


def test_every_exported_name_resolves() -> None:
    for name in slocheck.__all__:
        assert getattr(slocheck, name) is not None, name
    assert inspect.isfunction(slocheck.run) and slocheck.run.__module__ == "slocheck.workflows.run"
    assert set(slocheck.__all__) == {"__version__", *slocheck._EXPORTS}
