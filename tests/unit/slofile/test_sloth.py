"""Sloth ``prometheus/v1`` -> slocheck's model: detection, the mapping, and file:line:field
errors for what cannot be mapped (plugins, unknown fields)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import load_spec, parse_spec

EXAMPLES = Path(__file__).parents[3] / "examples"

SPEC = """\
version: "prometheus/v1"
service: "myservice"
labels: {owner: team}
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "5xx"
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="myservice",status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="myservice"}[{{.window}}]))
    alerting: {name: A, page_alert: {labels: {severity: page}}}
  - name: "requests-latency"
    objective: 99
    sli:
      events:
        error_query: |
          (
            sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
            -
            sum(rate(http_request_duration_seconds_bucket{job="myservice",le="0.4"}[{{.window}}]))
          )
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
  - name: "apiserver-errors"
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(apiserver_request_total{job="myservice",code=~"5..|429"}[5m]))
        total_query: sum(rate(apiserver_request_total{job="myservice"}[5m]))
  - name: "wifi"
    objective: 95
    sli:
      raw:
        error_ratio_query: 1 - avg(avg_over_time(satisfaction[{{.window}}]))
"""


def test_the_mapping() -> None:
    loaded = parse_spec(SPEC, "sloth.yaml")
    assert loaded.format == "sloth"
    spec = loaded.spec
    assert spec.service.name == "myservice" and spec.period == 30 * 86400
    assert spec.prometheus.selector == 'job="myservice"'
    availability, latency, errors, wifi = spec.slos
    assert (availability.sli, availability.objective) == ("availability", 0.999)
    assert availability.description == "5xx"
    assert (latency.sli, latency.threshold, latency.objective) == ("latency_ratio", 0.4, 0.99)
    assert (errors.sli, errors.bad, errors.total) == (
        "ratio",
        'apiserver_request_total{code=~"5..|429"}',
        "apiserver_request_total",
    )
    assert (wifi.sli, wifi.op, wifi.threshold) == ("promql", ">=", 0.95)
    assert wifi.query == "1 - (1 - avg(avg_over_time(satisfaction[$window])))"


def test_the_example_has_the_objectives_of_examples_slos() -> None:
    mine = {s.name: s for s in load_spec(EXAMPLES / "slos.yaml").spec.slos}
    theirs = load_spec(EXAMPLES / "sloth" / "slos.yaml").spec
    for s in theirs.slos:
        assert (s.sli, s.objective, s.threshold) == (
            mine[s.name].sli,
            mine[s.name].objective,
            mine[s.name].threshold,
        )


@pytest.mark.parametrize(
    ("replace", "by", "line", "field", "message"),
    [
        (
            "raw:\n        error_ratio_query: 1 - avg(avg_over_time(satisfaction[{{.window}}]))",
            "plugin: {id: sloth-common/availability}",
            33,
            "slos[3].sli.plugin",
            "plugins",
        ),
        (
            "labels: {owner: team}",
            "slo_plugins: {chain: [{id: a}]}",
            3,
            "slo_plugins.chain",
            "plugins",
        ),
        ("objective: 99.9", "objectiv: 99.9", 6, "slos[0].objectiv", "unknown field"),
        ("objective: 99.9", "objective: 120", 6, "slos[0].objective", "expected a target"),
        ('service: "myservice"', "service: 3", 2, "service", "field required"),
        ('version: "prometheus/v1"', 'version: "prometheus/v2"', 1, "version", "expected"),
    ],
)
def test_errors_name_file_line_and_field(
    replace: str, by: str, line: int, field: str, message: str
) -> None:
    assert replace in SPEC
    with pytest.raises(SpecError) as e:
        parse_spec(SPEC.replace(replace, by, 1), "sloth.yaml")
    assert (e.value.file, e.value.line, e.value.field) == ("sloth.yaml", line, field), str(e.value)
    assert message in e.value.message or message in str(e.value.hint), str(e.value)


ALERTING = """\
version: "prometheus/v1"
service: "shop"
labels: {owner: team-a, tier: "1"}
slos:
  - name: "availability"
    objective: 99
    labels: {tier: "0"}
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting:
      name: ShopAvailability
      labels: {category: availability, tier: "2"}
      annotations: {runbook: "https://runbooks/shop", summary: "shop"}
      page_alert:
        labels: {severity: pageteam, routing_key: shop-oncall, tier: "3"}
        annotations: {summary: "shop pages"}
      ticket_alert:
        disable: true
"""


def test_sloth_alerting_becomes_the_slos_alerts_merged_as_sloth_merges_them() -> None:
    """The spec's labels, the SLO's, alerting's, then the page's, each over the one before
    (Sloth's internal/storage/io/sloth.go: MergeLabels(alerting.labels, page_alert.labels) on
    the rule, over the series' spec and SLO labels)."""
    alerts = parse_spec(ALERTING, "sloth.yaml").spec.slos[0].alerts
    assert alerts is not None
    assert alerts.page.labels == {
        "owner": "team-a",
        "tier": "3",
        "category": "availability",
        "severity": "pageteam",
        "routing_key": "shop-oncall",
    }
    assert alerts.page.annotations == {"runbook": "https://runbooks/shop", "summary": "shop pages"}
    assert not alerts.page.disable
    assert alerts.ticket.disable
    assert alerts.ticket.labels == {"owner": "team-a", "tier": "2", "category": "availability"}
    assert alerts.ticket.annotations == {"runbook": "https://runbooks/shop", "summary": "shop"}


def test_without_alerting_the_spec_labels_still_reach_the_alerts() -> None:
    text = ALERTING[: ALERTING.index("    alerting:")]
    alerts = parse_spec(text, "sloth.yaml").spec.slos[0].alerts
    assert alerts is not None
    assert alerts.page.labels == alerts.ticket.labels == {"owner": "team-a", "tier": "0"}
    assert (
        parse_spec(
            text.replace('labels: {owner: team-a, tier: "1"}\n', "").replace(
                '    labels: {tier: "0"}\n', ""
            ),
            "sloth.yaml",
        )
        .spec.slos[0]
        .alerts
        is None
    )


@pytest.mark.parametrize(
    ("replace", "by", "line", "field", "message"),
    [
        (
            "routing_key: shop-oncall",
            "routing_key: 3",
            17,
            "slos[0].alerting.page_alert.labels.routing_key",
            "string",
        ),
        (
            "disable: true",
            "disable: yes please",
            20,
            "slos[0].alerting.ticket_alert.disable",
            "true or false",
        ),
        ("ticket_alert:", "tiket_alert:", 19, "slos[0].alerting.tiket_alert", "ticket_alert"),
        (
            "routing_key:",
            "routing-key:",
            17,
            "slos[0].alerting.page_alert.labels.routing-key",
            "not a Prometheus label name",
        ),
        (
            "routing_key:",
            "service:",
            17,
            "slos[0].alerting.page_alert.labels.service",
            "slocheck's own",
        ),
    ],
)
def test_alerting_errors_name_the_line(
    replace: str, by: str, line: int, field: str, message: str
) -> None:
    assert replace in ALERTING
    with pytest.raises(SpecError) as e:
        parse_spec(ALERTING.replace(replace, by, 1), "sloth.yaml")
    assert (e.value.file, e.value.line, e.value.field) == ("sloth.yaml", line, field), str(e.value)
    assert message in e.value.message or message in str(e.value.hint), str(e.value)


def test_a_spec_label_slocheck_sets_itself_is_left_off_the_alerts_and_told() -> None:
    loaded = parse_spec(ALERTING.replace("owner: team-a", "service: other"), "sloth.yaml")
    alerts = loaded.spec.slos[0].alerts
    assert alerts is not None and "service" not in alerts.page.labels
    assert any("labels.service: not on the alerts" in n for n in loaded.warnings), loaded.warnings
