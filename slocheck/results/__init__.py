"""What a verification and a run produce: plain data that the workflows build and that the
reports, the history store and the CLI read. Below all of them; it computes nothing.
``run_settings``: the options of a run (``RunOptions``), declared once for the CLI, the pytest
plugin and the API."""

from slocheck.evaluate.crosscheck import CrossCheck
from slocheck.results.capacity_result import CapacityResult
from slocheck.results.run_result import Ending, RunResult
from slocheck.results.run_settings import BenchOptions, CapacityOptions, RunOptions
from slocheck.results.verify_result import VerifyResult

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
