"""grafana-dashboard.json: built by the Grafana Foundation SDK, decoded back by its own model,
with the fields Grafana needs to import it, one row per SLO the rules cover, and queries that
read only the series the rules record."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("grafana_foundation_sdk", reason="the Grafana Foundation SDK needs Python 3.11")

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash_m
from grafana_foundation_sdk.models import prometheus as prom_m
from grafana_foundation_sdk.models import stat as stat_m
from grafana_foundation_sdk.models import text as text_m
from grafana_foundation_sdk.models import timeseries as ts_m

from slocheck.promql import quote
from slocheck.rules import dashboard as dash
from slocheck.rules.prometheus import BURNS, rule_set
from slocheck.slofile import load_spec, parse_spec
from slocheck.slofile.model import Spec

EXAMPLES = sorted(Path(__file__).parents[3].joinpath("examples").glob("*.yaml"))
#: A series selector in PromQL: a metric name followed by its matchers.
SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
#: The enumerated fields the dashboard sets, by their path in a panel: the SDK's decoding keeps
#: any string there, so the test checks them against the SDK's enums.
ENUMS: dict[tuple[str, ...], type[Any]] = {
    ("fieldConfig", "defaults", "thresholds", "mode"): dash_m.ThresholdsMode,
    (
        "fieldConfig",
        "defaults",
        "custom",
        "thresholdsStyle",
        "mode",
    ): common.GraphTresholdsStyleMode,
    ("options", "legend", "displayMode"): common.LegendDisplayMode,
    ("options", "legend", "placement"): common.LegendPlacement,
    ("options", "tooltip", "mode"): common.TooltipDisplayMode,
    ("options", "graphMode"): common.BigValueGraphMode,
    ("options", "colorMode"): common.BigValueColorMode,
    ("options", "justifyMode"): common.BigValueJustifyMode,
    ("options", "textMode"): common.BigValueTextMode,
    ("options", "orientation"): common.VizOrientation,
    ("options", "mode"): text_m.TextMode,
}
PANELS_OF = {"ratio": ["timeseries", "stat", "timeseries"], "threshold": ["timeseries", "stat"]}


def _spec(path: Path) -> Spec:
    return load_spec(path).spec


def _targets(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(p, t) for p in board["panels"] for t in p.get("targets", [])]


def _rows(board: dict[str, Any]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each row panel with the panels that follow it up to the next row."""
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for p in board["panels"]:
        if p["type"] == "row":
            out.append((p, []))
        elif out:
            out[-1][1].append(p)
    return out


def recorded(spec: Spec) -> set[str]:
    """The names of the series the rule set records."""
    return {r["record"] for g in rule_set(spec).groups for r in g["rules"] if "record" in r}


def unknown_series(spec: Spec, board: dict[str, Any]) -> list[str]:
    """The selectors of the dashboard's queries that read no recorded series of the spec's
    service (or of another SLO than the row's), and the queries that read no series at all."""
    records = recorded(spec)
    service = f"service={quote(spec.service.name)}"
    bad = []
    for row, panels in _rows(board):
        slo = f"slo={quote(row['title'])}"
        for p in panels:
            for t in p.get("targets", []):
                found = SELECTOR.findall(t["expr"])
                if not found:
                    bad.append(t["expr"])
                for name, inside in found:
                    if name not in records or service not in inside or slo not in inside:
                        bad.append(f"{name}{{{inside}}}")
    return bad


@pytest.fixture(scope="module", autouse=True)
def _plugins() -> None:
    register_default_plugins()  # the panel and query types, so that decoding is typed


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_builds_and_round_trips_through_the_sdk_model(path: Path) -> None:
    spec = _spec(path)
    text = dash.dashboard_json(spec)
    board = json.loads(text)
    assert text == dash.dashboard_json(spec)  # regenerating gives the same file
    model = dash_m.Dashboard.from_json(board)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == board
    options = {"timeseries": ts_m.Options, "stat": stat_m.Options, "text": text_m.Options}
    for p in model.panels or []:
        if isinstance(p, dash_m.RowPanel):
            continue
        assert isinstance(p.options, options[p.type_val]), p.title
        if p.type_val == "timeseries":
            assert isinstance(p.field_config.defaults.custom, ts_m.FieldConfig)
        for t in p.targets or []:
            assert isinstance(t, prom_m.Dataquery), p.title  # not the SDK's unknown query
    for panel in board["panels"]:
        for keys, enum in ENUMS.items():
            value: Any = panel
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                enum(value)  # a member, or ValueError


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_fields_grafana_needs_to_import_it(path: Path) -> None:
    spec = _spec(path)
    board = dash.dashboard(spec)
    assert UID.fullmatch(board["uid"])
    assert board["title"] == f"{spec.service.name} SLOs"
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["tags"] == ["slocheck", "slo"]
    assert board["annotations"] == {"list": []}
    (var,) = board["templating"]["list"]
    assert (var["name"], var["type"], var["query"]) == ("datasource", "datasource", "prometheus")
    ids = [p["id"] for p in board["panels"]]
    assert ids == list(range(1, len(ids) + 1))
    for p in board["panels"]:
        pos = p["gridPos"]
        assert all(isinstance(pos[k], int) for k in ("h", "w", "x", "y")), p["title"]
        assert pos["h"] > 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24
    for p, t in _targets(board):
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert t["expr"] and t["datasource"] == p["datasource"] and t["refId"]
    for p in board["panels"]:
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs))
    # no two panels overlap
    cells = [
        (x, y)
        for p in board["panels"]
        for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
        for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
    ]
    assert len(cells) == len(set(cells))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_one_row_of_panels_per_slo_the_rules_cover(path: Path) -> None:
    spec = _spec(path)
    board = dash.dashboard(spec)
    objectives = rule_set(spec).objectives
    rows = _rows(board)
    assert [r["title"] for r, _ in rows] == [o.name for o in objectives]
    assert sum(p["type"] == "row" for p in board["panels"]) == len(objectives)
    for (row, panels), o in zip(rows, objectives, strict=True):
        assert row["collapsed"] is False and row["panels"] == []  # its panels follow it
        assert [p["type"] for p in panels] == PANELS_OF[o.kind], o.name
        top = row["gridPos"]["y"] + 1
        assert all(p["gridPos"]["y"] == top for p in panels)  # side by side under the row
        assert sum(p["gridPos"]["w"] for p in panels) == 24
    # before the first row, at most the note on the SLOs without rules
    first = (
        [p["type"] for p in board["panels"][: board["panels"].index(rows[0][0])]] if rows else []
    )
    assert first in ([], ["text"])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_query_reads_only_series_the_rules_record(path: Path) -> None:
    spec = _spec(path)
    assert unknown_series(spec, dash.dashboard(spec)) == []


def test_a_renamed_recording_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(EXAMPLES[0].parent / "slos.yaml")
    monkeypatch.setattr(dash, "error_ratio_record", lambda w: f"slo:sli_errors:ratio_rate{w}")
    bad = unknown_series(spec, dash.dashboard(spec))
    assert bad and all(b.startswith("slo:sli_errors:ratio_rate") for b in bad)


def _panels(board: dict[str, Any], slo: str) -> list[dict[str, Any]]:
    return next(panels for row, panels in _rows(board) if row["title"] == slo)


def _steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(s["value"], s["color"]) for s in steps]


def test_the_panels_of_a_ratio_slo() -> None:
    spec = _spec(EXAMPLES[0].parent / "slos.yaml")
    board = dash.dashboard(spec)
    sli, budget, burn = _panels(board, "availability")
    sel = '{service="slocheck-demo",slo="availability"}'
    assert [t["expr"] for t in sli["targets"]] == [
        f"1 - slo:sli_error:ratio_rate5m{sel}",
        f"1 - slo:sli_error:ratio_rate28d{sel}",
        f"slo:objective:ratio{sel}",
    ]
    assert _steps(sli) == [(None, "red"), (0.99, "green")]
    assert sli["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert sli["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert [t["expr"] for t in budget["targets"]] == [f"slo:error_budget_remaining:ratio{sel}"]
    assert budget["title"] == "Error budget remaining (28d)"
    assert budget["options"]["reduceOptions"]["calcs"] == ["lastNotNull"]
    assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "6h", "1d", "3d"]
    assert burn["targets"][2]["expr"] == (
        f"slo:sli_error:ratio_rate1h{sel} / slo:error_budget:ratio{sel}"
    )
    factors = sorted(b.factor for pairs in BURNS.values() for b in pairs)
    assert [v for v, _ in _steps(burn)] == [None, *factors] == [None, 1.0, 3.0, 6.0, 14.4]


def test_the_panels_of_a_threshold_slo() -> None:
    spec = _spec(EXAMPLES[0].parent / "slos.yaml")
    board = dash.dashboard(spec)
    over_time, now = _panels(board, "p99-latency")
    expr = 'slo:sli_value:rate5m{service="slocheck-demo",slo="p99-latency"}'
    assert [t["expr"] for t in over_time["targets"]] == [expr]
    assert [t["expr"] for t in now["targets"]] == [expr]
    for p in (over_time, now):
        assert p["fieldConfig"]["defaults"]["unit"] == "s"
        assert _steps(p) == [(None, "green"), (1.0, "red")]  # red past the threshold
    assert over_time["title"] == "P99 latency vs threshold (1 s)"


def test_a_promql_slo_missed_below_its_threshold_is_red_below_it() -> None:
    spec = parse_spec(
        "version: 1\nservice: {name: svc}\nprometheus: {selector: 'job=\"a\"'}\nslos:\n"
        '  - {name: busy, sli: promql, query: "sum(rate(x_total[$window]))", op: ">=",'
        " threshold: 5}\n"
    ).spec
    (panel, _) = _panels(dash.dashboard(spec), "busy")
    assert _steps(panel) == [(None, "red"), (5.0, "green")]
    assert panel["fieldConfig"]["defaults"]["unit"] == "none"


def test_slos_without_rules_are_named_in_a_note_and_get_no_row() -> None:
    spec = _spec(EXAMPLES[0].parent / "llamacpp.yaml")  # every SLO judged from the client
    board = dash.dashboard(spec)
    assert [p["type"] for p in board["panels"]] == ["text"]
    content = board["panels"][0]["options"]["content"]
    for name, why in rule_set(spec).skipped:
        assert f"**{name}**: {why}" in content


def test_the_period_and_an_awkward_service_name() -> None:
    spec = parse_spec(
        "version: 1\nperiod: 7d\nservice: {name: 'my \"svc\" \\ é'}\n"
        "prometheus: {selector: 'job=\"a\"'}\nslos:\n  - {name: up, sli: availability,"
        " objective: 99.5%}\n"
    ).spec
    board = dash.dashboard(spec)
    assert unknown_series(spec, board) == []
    sli, budget, _ = _panels(board, "up")
    assert sli["targets"][1]["expr"] == (
        '1 - slo:sli_error:ratio_rate7d{service="my \\"svc\\" \\\\ é",slo="up"}'
    )
    assert budget["title"] == "Error budget remaining (7d)"
    assert UID.fullmatch(board["uid"])


def test_the_uid_is_the_service_s_own() -> None:
    names = ["slocheck-demo", "Slocheck Demo", "x" * 200, "é", "", "a/b", "llama-3-8b"]
    uids = [dash.uid_of(n) for n in names]
    assert all(UID.fullmatch(u) for u in uids)
    assert len(set(uids)) == len(names)
    assert dash.uid_of("slocheck-demo") == dash.uid_of("slocheck-demo")
    assert dash.uid_of("slocheck-demo").startswith("slocheck-slocheck-demo-")
