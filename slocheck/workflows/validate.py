"""``slocheck validate``: the spec is valid; what each SLO will read, from where."""

from __future__ import annotations

from dataclasses import dataclass

from slocheck.evaluate.plan import empty_numerator_warning, plan
from slocheck.evaluate.readback import sentence, undecidable, unpaced
from slocheck.slofile import LoadedSpec
from slocheck.slofile.model import SloSpec, Source
from slocheck.slofile.presets import Preset
from slocheck.slofile.sources import named_preset, preset_of, preset_series, source_of


@dataclass(frozen=True)
class SloPlanView:
    name: str
    sli: str
    severity: str
    source: Source
    fetch: str | None  #: the series fetched from Prometheus (server side)
    promql: str | None  #: the equivalent PromQL (server side)
    client: str | None  #: what the load generator measures (client side)
    warning: str | None
    #: the SLO as a person reads it (evaluate.readback)
    reads: str = ""
    #: why the spec's rate and duration cannot decide it, and what duration would
    undecided: str | None = None


@dataclass(frozen=True)
class ValidateResult:
    loaded: LoadedSpec
    preset: str
    preset_notes: tuple[str, ...]
    slos: list[SloPlanView]
    #: spec-wide warnings: unit traps (``file:line: field: ...``), an unpaced closed loop
    warnings: tuple[str, ...] = ()


def validate(loaded: LoadedSpec) -> ValidateResult:
    spec = loaded.spec
    preset = preset_of(spec)
    explicit = named_preset(spec)
    views = []
    for slo in spec.slos:
        # as slocheck run judges it (slocheck verify, which sends no load, reads the server)
        source = source_of(slo, preset, spec.load.arrival)
        server = plan(slo, spec.prometheus.selector, explicit) if source != "client" else None
        client = plan(slo, "", client=True).promql if source != "server" else None
        views.append(
            SloPlanView(
                name=slo.name,
                sli=slo.sli,
                severity=slo.severity,
                source=source,
                fetch=server.fetch if server else None,
                promql=server.promql if server else None,
                client=client,
                warning=_warning(slo, preset, source),
                reads=sentence(slo, source, spec.prometheus.selector),
                undecided=undecidable(slo, spec),
            )
        )
    warnings = (*loaded.traps, *filter(None, [unpaced(spec)]))
    return ValidateResult(loaded, preset.name, preset.notes, views, warnings)


def _warning(slo: SloSpec, preset: Preset, source: Source) -> str | None:
    """What could leave the SLO with no data: an errors-only PromQL numerator, or a histogram
    the server exports only when run with some setting (Triton's first-response histogram)."""
    if slo.query:
        return empty_numerator_warning(slo.query)
    hist = preset_series(slo, preset) if source != "client" and slo.metric is None else None
    requires = getattr(hist, "requires", None)
    return f"{slo.sli} needs {requires}" if requires else None
