"""Load and validate the SLO file. Imports nothing but ``errors``, ``units`` and ``promql``."""

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
