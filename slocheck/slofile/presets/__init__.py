"""Server metric presets (pure data): which series each inference server exports for every
built-in SLI, with their labels, status grouping and units. ``prometheus.preset`` picks one;
:func:`slocheck.evaluate.plan.plan` turns it into the queries, so rule generation, the
verifier and the cross-checks read the same names.

Every name comes from the server's own documentation or source: see each module's ``SOURCES``
and the recorded ``/metrics`` samples under ``tests/fixtures/metrics/``.
"""

from __future__ import annotations

from slocheck.slofile.presets.base import Counter, Histogram, Preset
from slocheck.slofile.presets.fastapi_instrumentator import PRESET as FASTAPI_INSTRUMENTATOR
from slocheck.slofile.presets.llamacpp import PRESET as LLAMACPP
from slocheck.slofile.presets.mlserver import PRESET as MLSERVER
from slocheck.slofile.presets.otel_http import PRESET as OTEL_HTTP
from slocheck.slofile.presets.otel_http_legacy import PRESET as OTEL_HTTP_LEGACY
from slocheck.slofile.presets.slocheck import PRESET as SLOCHECK
from slocheck.slofile.presets.tgi import PRESET as TGI
from slocheck.slofile.presets.triton import PRESET as TRITON
from slocheck.slofile.presets.vllm import PRESET as VLLM

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        SLOCHECK,
        VLLM,
        TGI,
        TRITON,
        MLSERVER,
        LLAMACPP,
        FASTAPI_INSTRUMENTATOR,
        OTEL_HTTP,
        OTEL_HTTP_LEGACY,
    )
}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)

__all__ = ["PRESETS", "PRESET_NAMES", "Counter", "Histogram", "Preset"]
