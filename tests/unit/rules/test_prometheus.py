"""The generated rules, as tables: what each SLO becomes, the names, the windows, the burn
pairs, and that every query is the verifier's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slocheck.evaluate.plan import plan
from slocheck.promql import duration, parse_matchers, quote
from slocheck.rules import rule_set
from slocheck.rules.objectives import objective_of, over, up_selector
from slocheck.rules.prometheus import WINDOWS, alert_name
from slocheck.slofile import load_spec, parse_spec

ROOT = Path(__file__).parents[3]


def spec_of(text: str):  # type: ignore[no-untyped-def]
    return parse_spec("version: 1\n" + text).spec


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(28 * 86400, "28d"), (3600, "1h"), (5400, "90m"), (45, "45s"), (7 * 86400, "7d")],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration(seconds, largest="d") == text


@pytest.mark.parametrize(
    ("name", "alert"),
    [
        ("availability", "AvailabilityErrorBudgetBurn"),
        ("p95-latency", "P95LatencyErrorBudgetBurn"),
        ("99th percentile", "99thPercentileErrorBudgetBurn".replace("99", "Slo99", 1)),
        ("ttft_p95", "TtftP95ErrorBudgetBurn"),
    ],
)
def test_alert_names_are_per_slo_and_valid(name: str, alert: str) -> None:
    spec = spec_of(f"slos: [{{name: '{name}', sli: availability, objective: 99%}}]\n")
    o = objective_of(spec.slos[0], spec)
    got = alert_name(o, "ErrorBudgetBurn")  # type: ignore[arg-type]
    assert got == alert
    assert got[0].isalpha() and got.replace("_", "").isalnum()


def test_quoted_escapes() -> None:
    assert quote('a"b\\c') == '"a\\"b\\\\c"'


def test_matchers_of_a_selector() -> None:
    found = parse_matchers('job="a", code=~"5..",handler!="/metrics"')
    assert [(m.label, m.op, m.value) for m in found] == [
        ("job", "=", "a"),
        ("code", "=~", "5.."),
        ("handler", "!=", "/metrics"),
    ]


def test_up_keeps_only_the_labels_an_up_series_has() -> None:
    spec = spec_of(
        'prometheus: {selector: \'job="slocheck", endpoint="/v1/classify"\'}\n'
        "slos: [{name: a, sli: availability, objective: 99%}]\n"
    )
    assert up_selector(spec) == 'up{job="slocheck"}'


def test_the_error_ratio_is_the_verifiers_query() -> None:
    loaded = load_spec(ROOT / "examples" / "slos-faulty.yaml")
    spec = loaded.spec
    rules = rule_set(spec)
    by_record = {
        (r["record"], r["labels"]["slo"]): r["expr"]
        for g in rules.groups
        for r in g["rules"]
        if "record" in r
    }
    error_slo = next(s for s in spec.slos if s.sli == "error_ratio")
    verifier = plan(error_slo, spec.prometheus.selector).promql
    assert by_record[("slo:sli_error:ratio_rate1h", error_slo.name)] == over(verifier, "1h", 3600)
    latency = next(s for s in spec.slos if s.sli == "latency")
    assert by_record[("slo:sli_value:rate5m", latency.name)] == over(
        plan(latency, spec.prometheus.selector).promql, "5m", 300
    )


def test_every_ratio_slo_records_every_window_and_its_period() -> None:
    spec = spec_of(
        "period: 7d\nslos:\n"
        "  - {name: avail, sli: availability, objective: 99.5%}\n"
        "  - {name: errs, sli: error_ratio, threshold: 2%}\n"
        "  - {name: fast, sli: latency_ratio, threshold: 250ms, objective: 95%}\n"
        "  - {name: p99, sli: latency, percentile: 99, threshold: 1s}\n"
        "  - {name: rps, sli: throughput, threshold: 10}\n"
    )
    rules = rule_set(spec)
    assert [g["name"] for g in rules.groups] == [
        "slocheck:service:avail",
        "slocheck:service:errs",
        "slocheck:service:fast",
        "slocheck:service:p99",
        "slocheck:service:service",
    ]
    assert rules.skipped == [("rps", "throughput is a gate's check, not a production alert")]
    avail = rules.groups[0]["rules"]
    records = [r["record"] for r in avail if "record" in r]
    assert records[: len(WINDOWS)] == [f"slo:sli_error:ratio_rate{w}" for w, _ in WINDOWS]
    assert "slo:sli_error:ratio_rate7d" in records
    values = {r["record"]: r["expr"] for r in avail if "record" in r}
    assert values["slo:objective:ratio"] == "vector(0.995)"
    assert values["slo:error_budget:ratio"] == "vector(0.005)"
    errs = {r["record"]: r["expr"] for r in rules.groups[1]["rules"] if "record" in r}
    assert errs["slo:error_budget:ratio"] == "vector(0.02)", "an error ratio's budget is its max"
    alerts = [r for r in avail if "alert" in r]
    assert [(a["alert"], a["labels"]["severity"]) for a in alerts] == [
        ("AvailErrorBudgetBurn", "page"),
        ("AvailErrorBudgetBurn", "ticket"),
    ]
    page = alerts[0]["expr"]
    assert "ratio_rate1h" in page and "ratio_rate5m" in page and "(14.4 * 0.005)" in page
    assert "ratio_rate6h" in page and "ratio_rate30m" in page and "(6 * 0.005)" in page
    ticket = alerts[1]["expr"]
    assert "(3 * 0.005)" in ticket and "(1 * 0.005)" in ticket
    assert "for" not in alerts[0], "the short window is what makes a burn alert quick to reset"
    p99 = next(r for r in rules.groups[3]["rules"] if "alert" in r)
    assert p99["alert"] == "P99ThresholdBreached" and p99["for"] == "5m"
    assert p99["expr"].endswith("> 1")
    service = {r["alert"]: r for r in rules.groups[4]["rules"]}
    assert set(service) == {"ServiceDown", "NoTraffic"}
    assert service["ServiceDown"]["expr"] == "up == 0"


def test_a_client_judged_sli_has_no_rule() -> None:
    spec = load_spec(ROOT / "examples" / "llamacpp.yaml").spec
    skipped = dict(rule_set(spec).skipped)
    assert "judged from the load generator" in skipped["availability"]


def test_the_rules_are_yaml_a_person_can_read() -> None:
    text = rule_set(load_spec(ROOT / "examples" / "slos.yaml").spec).to_yaml()
    assert "&id" not in text and "*id" not in text, "no YAML anchors"
    assert yaml.safe_load(text)["groups"]
