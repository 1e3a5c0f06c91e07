"""A Grafana dashboard of the generated rules' series (pure), built with the Grafana Foundation
SDK: per SLO one row; for a ratio SLO its SLI over time against the objective, the error
budget remaining over the SLO period and its burn rates against the alerts' factors; for a
threshold SLO its value over time against the threshold and the current value.

It charts only the series that :func:`slocheck.rules.prometheus.rule_set` records (labels
``slo``, ``sli`` and ``service`` on each), never the raw metrics, so that the dashboard shows
exactly what the alerts read. The data source is a variable (``datasource``, any Prometheus),
so the file imports anywhere; the uid is derived from the service's name, so that importing a
regenerated file updates the same dashboard.

The SDK needs Python 3.11 (it is not installed on 3.10, where importing this module fails);
nothing else in :mod:`slocheck.rules` imports it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import text as text_b
from grafana_foundation_sdk.builders import timeseries as ts_b
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models.text import TextMode

from slocheck.promql import duration
from slocheck.rules.objectives import Objective
from slocheck.rules.prometheus import BURNS, error_ratio_record, recorded, rule_set
from slocheck.slofile.kinds import QUANTILE, family_of
from slocheck.slofile.model import Spec

DATASOURCE_VAR = "datasource"
DATASOURCE = dash_m.DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VAR + "}")
TAGS = ["slocheck", "slo"]
#: The windows of the burn-rate panel (the alerts' long and short windows, but 2h).
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "1d", "3d")
#: The burn-rate factors of the alerts, by the color of their threshold line.
BURN_COLORS = {1.0: "yellow", 3.0: "orange", 6.0: "red", 14.4: "dark-red"}
HEIGHT = 8


def uid_of(service: str) -> str:
    """A Grafana uid (at most 40 of ``[A-Za-z0-9_-]``) of the service's own: the same name
    gives the same uid, so that a regenerated dashboard replaces the imported one."""
    slug = re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-")[:20].strip("-")
    digest = hashlib.sha256(service.encode()).hexdigest()[:8]
    return f"slocheck-{slug}-{digest}" if slug else f"slocheck-{digest}"


def _query(expr: str, legend: str, ref: str) -> prom_b.Dataquery:
    return (
        prom_b.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref)
        .range()
        .datasource(DATASOURCE)
    )


def _steps(base: str, steps: list[tuple[float, str]]) -> dash_b.ThresholdsConfig:
    return (
        dash_b.ThresholdsConfig()
        .mode(dash_m.ThresholdsMode.ABSOLUTE)
        .steps([dash_m.Threshold(None, base)] + [dash_m.Threshold(v, c) for v, c in steps])
    )


def _legend() -> common_b.VizLegendOptions:
    return (
        common_b.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )


def _percent(x: float) -> str:
    return f"{x * 100:.6g}%"


def _num(x: float) -> str:
    return f"{x:.12g}"


def ratio_panels(o: Objective, spec: Spec, period: str) -> list[Builder[dash_m.Panel]]:
    """SLI against objective, budget remaining over the period, burn rates."""
    assert o.objective is not None and o.budget is not None
    svc = spec.service.name
    sli = (
        ts_b.Panel()
        .title(f"SLI vs objective ({_percent(o.objective)})")
        .description(
            f"The good share of {o.name} ({o.sli}): 1 - its error ratio over 5m and over "
            f"the SLO period ({period}), against its objective."
        )
        .datasource(DATASOURCE)
        .with_target(_query(f"1 - {recorded(error_ratio_record('5m'), o, svc)}", "SLI (5m)", "A"))
        .with_target(
            _query(f"1 - {recorded(error_ratio_record(period), o, svc)}", f"SLI ({period})", "B")
        )
        .with_target(_query(recorded("slo:objective:ratio", o, svc), "objective", "C"))
        .unit("percentunit")
        .decimals(3)
        .max(1)
        .thresholds(_steps("red", [(o.objective, "green")]))
        .thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
        .legend(_legend())
        .span(10)
        .height(HEIGHT)
    )
    budget = (
        stat_b.Panel()
        .title(f"Error budget remaining ({period})")
        .description(
            f"The share of {o.name}'s error budget ({_percent(o.budget)} of events over "
            f"{period}) not spent yet: below 0 the SLO is missed over the period."
        )
        .datasource(DATASOURCE)
        .with_target(
            _query(recorded("slo:error_budget_remaining:ratio", o, svc), "budget remaining", "A")
        )
        .unit("percentunit")
        .decimals(1)
        .thresholds(_steps("red", [(0.0, "orange"), (0.25, "green")]))
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .span(4)
        .height(HEIGHT)
    )
    factors = sorted({b.factor for burns in BURNS.values() for b in burns})
    pairs = [
        f"{_num(b.factor)}x ({b.long} and {b.short})"
        for sev in ("page", "ticket")
        for b in BURNS[sev]
    ]
    burn = (
        ts_b.Panel()
        .title("Burn rate")
        .description(
            "The error ratio over each window divided by the error budget: at 1x the budget "
            f"lasts exactly {period}. The alerts page at {pairs[0]} or {pairs[1]} and open a "
            f"ticket at {pairs[2]} or {pairs[3]}."
        )
        .datasource(DATASOURCE)
        .unit("suffix:x")
        .min(0)
        .thresholds(_steps("green", [(f, BURN_COLORS.get(f, "red")) for f in factors]))
        .thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
        .legend(_legend())
        .span(10)
        .height(HEIGHT)
    )
    for i, w in enumerate(BURN_WINDOWS):
        expr = (
            f"{recorded(error_ratio_record(w), o, svc)} / "
            f"{recorded('slo:error_budget:ratio', o, svc)}"
        )
        burn = burn.with_target(_query(expr, w, chr(ord("A") + i)))
    return [sli, budget, burn]


def threshold_panels(o: Objective, spec: Spec) -> list[Builder[dash_m.Panel]]:
    """Value over time against the threshold, and the current value."""
    assert o.threshold is not None and o.bad_op is not None
    value = recorded("slo:sli_value:rate5m", o, spec.service.name)
    what = f"P{o.percentile:g} {o.sli}" if o.percentile else o.sli
    unit = "s" if family_of(o.sli) == QUANTILE else "none"
    shown = f"{_num(o.threshold)} s" if unit == "s" else _num(o.threshold)
    # the color past the threshold says which side misses the SLO
    if o.bad_op in (">", ">="):
        steps = _steps("green", [(o.threshold, "red")])
    elif o.bad_op in ("<", "<="):
        steps = _steps("red", [(o.threshold, "green")])
    else:  # == or !=: a line, no side is better
        steps = _steps("blue", [(o.threshold, "purple")])
    missed = f"missed when {o.bad_op} {shown}"
    over_time = (
        ts_b.Panel()
        .title(f"{what} vs threshold ({shown})")
        .description(f"{what} of {o.name} over 5m, {missed}.")
        .datasource(DATASOURCE)
        .with_target(_query(value, f"{what} (5m)", "A"))
        .unit(unit)
        .min(0)
        .thresholds(steps)
        .thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
        .legend(_legend())
        .span(18)
        .height(HEIGHT)
    )
    current = (
        stat_b.Panel()
        .title(f"{what} now")
        .description(f"The latest {what} of {o.name} over 5m, {missed}.")
        .datasource(DATASOURCE)
        .with_target(_query(value, what, "A"))
        .unit(unit)
        .thresholds(steps)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(common.BigValueGraphMode.AREA)
        .color_mode(common.BigValueColorMode.VALUE)
        .span(6)
        .height(HEIGHT)
    )
    return [over_time, current]


def _skipped_note(skipped: list[tuple[str, str]]) -> text_b.Panel:
    lines = "\n".join(f"- **{name}**: {why}" for name, why in skipped)
    return (
        text_b.Panel()
        .title("SLOs without production rules")
        .mode(TextMode.MARKDOWN)
        .content(f"Not on this dashboard (no recording rule):\n\n{lines}\n")
        .span(24)
        .height(2 + len(skipped))
    )


def build(spec: Spec) -> dash_m.Dashboard:
    """The SDK's dashboard model of a spec's rules."""
    rules = rule_set(spec)
    period = duration(spec.period, largest="d")
    name = spec.service.name
    board = (
        dash_b.Dashboard(f"{name} SLOs")
        .uid(uid_of(name))
        .description(f"The SLOs of {name} from its slocheck spec (period {period}).")
        .tags(TAGS)
        .editable()
        .time("now-1d", "now")
        .refresh("1m")
        .tooltip(dash_m.DashboardCursorSync.CROSSHAIR)
        .annotations([])  # an explicit empty list: Grafana adds its built-in one on import
        .with_variable(
            dash_b.DatasourceVariable(DATASOURCE_VAR).label("Data source").type("prometheus")
        )
    )
    if rules.skipped:
        board = board.with_panel(_skipped_note(rules.skipped))
    for o in rules.objectives:
        board = board.with_row(dash_b.Row(o.name))
        panels = ratio_panels(o, spec, period) if o.kind == "ratio" else threshold_panels(o, spec)
        for p in panels:
            board = board.with_panel(p)
    model = board.build()
    for i, panel in enumerate(model.panels or [], start=1):
        panel.id_val = i  # unique in the dashboard, stable across regenerations
    return model


def dashboard(spec: Spec) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (a dict)."""
    encoded: dict[str, Any] = json.loads(json.dumps(build(spec), cls=JSONEncoder))
    return encoded


def dashboard_json(spec: Spec) -> str:
    """``grafana-dashboard.json``: the dashboard as importable JSON text."""
    return json.dumps(dashboard(spec), indent=2) + "\n"
