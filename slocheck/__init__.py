"""slocheck: prove with real load and real metrics that an ML inference service meets its SLOs.

The public API is imported lazily, so that ``import slocheck`` stays cheap and the reference
service does not pull in the verifier side.
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
    from slocheck.service import FaultConfig, ServiceConfig, serve
    from slocheck.spec.presets import PRESETS, Preset

_EXPORTS = {
    "ExitCode": "slocheck.errors",
    "SlocheckError": "slocheck.errors",
    "UsageError": "slocheck.errors",
    "SpecError": "slocheck.errors",
    "InfrastructureError": "slocheck.errors",
    "ServiceConfig": "slocheck.service",
    "FaultConfig": "slocheck.service",
    "serve": "slocheck.service",
    "PRESETS": "slocheck.spec.presets",
    "Preset": "slocheck.spec.presets",
}

__all__ = [
    "PRESETS",
    "ExitCode",
    "FaultConfig",
    "InfrastructureError",
    "Preset",
    "ServiceConfig",
    "SlocheckError",
    "SpecError",
    "UsageError",
    "__version__",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
