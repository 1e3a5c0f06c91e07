"""What a verification and a run produce: plain data that the workflows build and that the
reports, the history store and the CLI read. Below all of them; it computes nothing.
``run_settings``: the options of a run (``RunOptions``), declared once for the CLI, the pytest
plugin and the API.

Its public names are imported lazily: the CLI's parser needs ``run_settings`` only, and every
``slocheck`` process (the embedded service's too) builds the parser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slocheck.evaluate.crosscheck import CrossCheck
    from slocheck.results.capacity_result import CapacityResult
    from slocheck.results.run_result import Ending, RunResult
    from slocheck.results.run_settings import BenchOptions, CapacityOptions, RunOptions
    from slocheck.results.verify_result import VerifyResult

_EXPORTS = {
    "BenchOptions": "slocheck.results.run_settings",
    "CapacityOptions": "slocheck.results.run_settings",
    "CapacityResult": "slocheck.results.capacity_result",
    "CrossCheck": "slocheck.evaluate.crosscheck",
    "Ending": "slocheck.results.run_result",
    "RunOptions": "slocheck.results.run_settings",
    "RunResult": "slocheck.results.run_result",
    "VerifyResult": "slocheck.results.verify_result",
}

__all__ = [
    "BenchOptions",
    "CapacityOptions",
    "CapacityResult",
    "CrossCheck",
    "Ending",
    "RunOptions",
    "RunResult",
    "VerifyResult",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck.results' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
