"""Which series a spec's SLOs are read from: the preset's, the spec's own ``metric:``, or the
load generator's measurements (``source:``). Pure."""

from __future__ import annotations

from slocheck.spec.model import CLIENT_SLIS, SloSpec, Source, Spec
from slocheck.spec.presets import PRESETS, Preset

#: What each SLI reads from a preset, in words (for messages).
PRESET_FIELD: dict[str, tuple[str, str]] = {
    "availability": ("requests", "request counter"),
    "error_ratio": ("requests", "request counter"),
    "throughput": ("requests", "request counter"),
    "latency": ("latency", "latency histogram"),
    "latency_ratio": ("latency", "latency histogram"),
    "ttft": ("ttft", "time-to-first-token histogram"),
    "inter_token_latency": ("inter_token_latency", "inter-token latency histogram"),
    "token_throughput": ("output_tokens", "counter of generated tokens"),
}


def preset_of(spec: Spec) -> Preset:
    """The spec's preset; slocheck's own names when it names none."""
    return PRESETS[spec.prometheus.preset or "slocheck"]


def server_has(slo: SloSpec, preset: Preset) -> bool:
    """Whether the server's metrics can judge ``slo``: it names its own series, or the preset
    has one for its SLI."""
    if slo.metric is not None or slo.sli not in PRESET_FIELD:
        return True
    if slo.sli == "availability" and slo.measurement == "uptime":
        return True
    return getattr(preset, PRESET_FIELD[slo.sli][0]) is not None


def source_of(slo: SloSpec, preset: Preset) -> Source:
    """``source:`` as given; else the server where it has the metric, else the client."""
    if slo.source is not None:
        return slo.source
    return "server" if server_has(slo, preset) else "client"


def source_problem(slo: SloSpec, preset: Preset) -> str | None:
    """Why ``slo``'s source cannot work, or None."""
    source = source_of(slo, preset)
    if source != "server" and slo.sli not in CLIENT_SLIS:
        return f"sli {slo.sli} is only measured by the server"
    if source != "server" and slo.measurement == "uptime":
        return "uptime is measured by Prometheus' scrapes, not by the load generator"
    if source != "client" and not server_has(slo, preset):
        what = PRESET_FIELD[slo.sli][1]
        return (
            f"the {preset.name} preset has no {what}: judge it from the load generator "
            "(source: client), or name the server's series with metric:"
        )
    return None
