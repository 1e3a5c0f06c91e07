"""``slocheck bench``: the same run N times into the history, and (``compare_to``) the N runs,
pooled, compared with a baseline of earlier runs: the nightly check that decides.

One run's comparison carries the machine's run-to-run noise in full (``1.96 * cv`` on top of
its own interval); N runs against a ``median:M`` baseline shrink it to
``1.96 * cv * sqrt(1/N + 1/M)``, and their spread measures the noise alongside the baseline's
(:func:`slocheck.regress.compare`). docs/regression.md gives the settings this project measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slocheck.errors import InfrastructureError
from slocheck.regress import Comparison, RunRecord
from slocheck.results.run_settings import BenchOptions, RunOptions, settings_in
from slocheck.slofile import LoadedSpec
from slocheck.store.history import History
from slocheck.store.run_record import record_of
from slocheck.verdict import Verdict
from slocheck.workflows.regression import compare_in_history
from slocheck.workflows.run import run


@dataclass
class BenchResult:
    records: list[RunRecord] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    interrupted: bool = False
    comparison: Comparison | None = None  # with compare_to, once every run is recorded


def bench(
    loaded: LoadedSpec,
    options: BenchOptions,
    on_run: Callable[[int, RunRecord, str], None] | None = None,
) -> BenchResult:
    """Run ``loaded`` ``options.repeat`` times, recording each run; then compare them."""
    out = BenchResult()
    with History(options.history) as store:
        for i in range(options.repeat):
            result = run(
                loaded,
                RunOptions(out_dir=options.out_dir / f"run-{i + 1}", **settings_in(options)),
            )
            if result.verdict == Verdict.INTERRUPTED:  # Ctrl-C stops the series, not just one run
                out.interrupted = True
                return out
            if result.error is not None:
                raise InfrastructureError(f"run {i + 1}/{options.repeat}: {result.error}")
            record = record_of(result)
            store.add(record)
            out.records.append(record)
            out.verdicts.append(result.verdict)
            if on_run is not None:
                on_run(i, record, result.verdict)
        if options.compare_to is not None:
            out.comparison = compare_in_history(
                store,
                options.compare_to,
                out.records,
                loaded.spec.regression,
                options.any_fingerprint,
            )
    return out
