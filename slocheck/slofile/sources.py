"""Which series a spec's SLOs are read from: the preset's, the spec's own ``metric:``, or the
load generator's measurements (``source:``). Pure."""

from __future__ import annotations

from typing import Literal

from slocheck.slofile.kinds import kind
from slocheck.slofile.model import SloSpec, Source, Spec
from slocheck.slofile.presets import PRESETS, Counter, Histogram, Preset


def preset_of(spec: Spec) -> Preset:
    """The spec's preset; slocheck's own names when it names none."""
    return PRESETS[spec.prometheus.preset or "slocheck"]


def named_preset(spec: Spec) -> Preset | None:
    """The preset the spec names (``prometheus.preset``), or None: then an SLO's series are
    slocheck's own names, or the ``metric:`` it gives (see :func:`slocheck.evaluate.plan.plan`).
    """
    return PRESETS[spec.prometheus.preset] if spec.prometheus.preset else None


def preset_series(slo: SloSpec, preset: Preset) -> Counter | Histogram | str | None:
    """What ``preset`` gives for ``slo``'s kind (a counter, a histogram, a metric name), or None
    (it has none, or the kind reads no preset)."""
    field = kind(slo.sli).preset_field
    found: Counter | Histogram | str | None = getattr(preset, field or "", None)
    return found


def server_has(slo: SloSpec, preset: Preset) -> bool:
    """Whether the server's metrics can judge ``slo``: it names its own series, or the preset
    has one for its SLI."""
    if kind(slo.sli).client_only:
        return False
    if slo.metric is not None or kind(slo.sli).preset_field is None:
        return True
    if slo.sli == "availability" and slo.measurement == "uptime":
        return True
    return preset_series(slo, preset) is not None


#: Who sent the load the SLOs are judged over: ``None`` (``slocheck verify``: not slocheck), or
#: slocheck itself in a closed or an open loop (``run``, ``bench``, ``capacity``).
LoadKind = Literal["closed", "open"] | None


def source_of(slo: SloSpec, preset: Preset, load: LoadKind = None) -> Source:
    """``source:`` as given. Else, where slocheck sent the load (``load``), ``both`` (the
    stricter verdict) for the SLIs that count failures and, in an open loop, for latency;
    otherwise the server where it has the metric, else the client.

    Where slocheck sent the load, the client saw every failure and the server may have missed
    some (a status fixed before a stream failed, a refusal before the counter, a request that
    never reached it), never the other way round (``SliKind.counts_failures``); an open loop
    measures latency from each request's intended send time, so it includes the queue the
    server never sees (``SliKind.times_requests``)."""
    if slo.source is not None:
        return slo.source
    if not server_has(slo, preset):
        return "client"
    k = kind(slo.sli)
    ours = load is not None and k.client_measure is not None and slo.measurement != "uptime"
    if ours and (k.counts_failures or (load == "open" and k.times_requests)):
        return "both"
    return "server"


def source_problem(slo: SloSpec, preset: Preset) -> str | None:
    """Why ``slo``'s source cannot work, or None."""
    source = source_of(slo, preset)
    if source != "client" and kind(slo.sli).client_only:
        return (
            f"sli {slo.sli} is judged from the load generator's records of each request, "
            "which no server keeps: source client (the default)"
        )
    if source != "server" and kind(slo.sli).client_measure is None:
        return f"sli {slo.sli} is only measured by the server"
    if source != "server" and slo.measurement == "uptime":
        return "uptime is measured by Prometheus' scrapes, not by the load generator"
    if source != "client" and not server_has(slo, preset):
        what = kind(slo.sli).preset_words
        return (
            f"the {preset.name} preset has no {what}: judge it from the load generator "
            "(source: client), or name the server's series with metric:"
        )
    return None
