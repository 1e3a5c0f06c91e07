"""slocheck: prove with real load and real metrics that an ML inference service meets its SLOs.

The public API is imported lazily, so that ``import slocheck`` stays cheap and the reference
service does not pull in the verifier side:

* the gate: ``run(load_spec("slos.yaml"), RunOptions(out_dir=...))`` returns a
  :class:`RunResult` (what ``slocheck run`` does, without printing or writing its reports;
  the pytest plugin, docs/pytest-plugin.md, writes them too); ``load_spec`` reads a spec file,
  ``parse_spec`` spec text, either a :class:`LoadedSpec`;
* the reference service: ``serve(ServiceConfig(...))``, its ``FaultConfig``;
* the metric presets of the servers people run: ``PRESETS`` (name to :class:`Preset`);
* the errors: ``SlocheckError`` and its ``UsageError``, ``SpecError`` and
  ``InfrastructureError``, and the ``ExitCode`` each maps to;
* the verdicts: ``Verdict`` (``pass``, ``warn``, ``fail``, ... with the exit code of each;
  docs/verdicts.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slocheck._version import __version__

if TYPE_CHECKING:
    from slocheck.errors import (
        ExitCode,
        InfrastructureError,
        SlocheckError,
        SpecError,
        UsageError,
    )
    from slocheck.results import RunOptions, RunResult
    from slocheck.service import FaultConfig, ServiceConfig, serve
    from slocheck.slofile import LoadedSpec, load_spec, parse_spec
    from slocheck.slofile.presets import PRESETS, Preset
    from slocheck.verdict import Verdict
    from slocheck.workflows.run import run

_EXPORTS = {
    "ExitCode": "slocheck.errors",
    "SlocheckError": "slocheck.errors",
    "UsageError": "slocheck.errors",
    "SpecError": "slocheck.errors",
    "InfrastructureError": "slocheck.errors",
    "ServiceConfig": "slocheck.service",
    "FaultConfig": "slocheck.service",
    "serve": "slocheck.service",
    "PRESETS": "slocheck.slofile.presets",
    "Preset": "slocheck.slofile.presets",
    "LoadedSpec": "slocheck.slofile",
    "load_spec": "slocheck.slofile",
    "parse_spec": "slocheck.slofile",
    "RunOptions": "slocheck.results",
    "RunResult": "slocheck.results",
    "run": "slocheck.workflows.run",
    "Verdict": "slocheck.verdict",
}

__all__ = [
    "PRESETS",
    "ExitCode",
    "FaultConfig",
    "InfrastructureError",
    "LoadedSpec",
    "Preset",
    "RunOptions",
    "RunResult",
    "ServiceConfig",
    "SlocheckError",
    "SpecError",
    "UsageError",
    "Verdict",
    "__version__",
    "load_spec",
    "parse_spec",
    "run",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
