"""Load and validate the SLO file. Imports nothing but ``errors``, ``units`` and ``promql``.

Its public names are imported lazily: ``slocheck.slofile.bounds`` (the limits the CLI's parser
checks options against) must not pull in pydantic and the model (~0.3 s of CPU in every
``slocheck`` process, the embedded service's too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slocheck.slofile.kinds import KINDS, SliKind
    from slocheck.slofile.loader import LoadedSpec, load_spec, parse_spec
    from slocheck.slofile.model import (
        FaultsSpec,
        LoadSpec,
        PrometheusSpec,
        RegressionSpec,
        ServiceSpec,
        SloSpec,
        Spec,
        TargetSpec,
    )

_EXPORTS = {
    "KINDS": "slocheck.slofile.kinds",
    "SliKind": "slocheck.slofile.kinds",
    "LoadedSpec": "slocheck.slofile.loader",
    "load_spec": "slocheck.slofile.loader",
    "parse_spec": "slocheck.slofile.loader",
    **{
        name: "slocheck.slofile.model"
        for name in (
            "FaultsSpec",
            "LoadSpec",
            "PrometheusSpec",
            "RegressionSpec",
            "ServiceSpec",
            "SloSpec",
            "Spec",
            "TargetSpec",
        )
    },
}

__all__ = [
    "KINDS",
    "FaultsSpec",
    "LoadSpec",
    "LoadedSpec",
    "PrometheusSpec",
    "RegressionSpec",
    "ServiceSpec",
    "SliKind",
    "SloSpec",
    "Spec",
    "TargetSpec",
    "load_spec",
    "parse_spec",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck.slofile' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
