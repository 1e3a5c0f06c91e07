"""Which series a spec's SLOs are read from: the preset's, the spec's own ``metric:``, or the
load generator's measurements (``source:``). Pure."""

from __future__ import annotations

from typing import Literal

from slocheck.slofile.model import CLIENT_SLIS, SloSpec, Source, Spec
from slocheck.slofile.presets import PRESETS, Preset

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


#: Who sent the load the SLOs are judged over: ``None`` (``slocheck verify``: not slocheck), or
#: slocheck itself in a closed or an open loop (``run``, ``bench``, ``capacity``).
LoadKind = Literal["closed", "open"] | None
#: SLIs that count failed requests: where slocheck sent the load, the client saw every failure
#: and the server may have missed some (a status fixed before a stream failed, a refusal before
#: the counter, a request that never reached it), never the other way round.
FAILURE_SLIS = frozenset({"availability", "error_ratio", "latency_ratio"})
#: SLIs an open loop also judges from the client: its latency is measured from each request's
#: intended send time, so it includes the queue the server never sees.
OPEN_LOOP_SLIS = frozenset({"latency", "latency_ratio"})


def source_of(slo: SloSpec, preset: Preset, load: LoadKind = None) -> Source:
    """``source:`` as given. Else, where slocheck sent the load (``load``), ``both`` (the
    stricter verdict) for the SLIs that count failures and, in an open loop, for latency;
    otherwise the server where it has the metric, else the client."""
    if slo.source is not None:
        return slo.source
    if not server_has(slo, preset):
        return "client"
    ours = load is not None and slo.sli in CLIENT_SLIS and slo.measurement != "uptime"
    if ours and (slo.sli in FAILURE_SLIS or (load == "open" and slo.sli in OPEN_LOOP_SLIS)):
        return "both"
    return "server"


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
