"""The user's alert labels and annotations (an SLO's ``alerts:``, filled by a Sloth or OpenSLO
import) on the generated alerts, their promtool tests and the Alertmanager routes; without
``alerts:`` nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from slocheck.errors import SpecError
from slocheck.rules import rule_set
from slocheck.rules.alertmanager import matcher, routes, severities
from slocheck.rules.promtool import rule_tests
from slocheck.slofile import parse_spec

HEAD = """\
version: 1
service: {name: shop}
prometheus: {selector: 'job="shop"'}
slos:
"""
AVAILABILITY = """\
  - name: availability
    sli: availability
    objective: 99%
"""
LATENCY = """\
  - name: p95
    sli: latency
    percentile: 95
    threshold: 250ms
"""
ALERTS = """\
    alerts:
      page:
        labels: {severity: pageteam, routing_key: shop-oncall}
        annotations: {runbook: "https://runbooks/shop"}
      ticket:
        labels: {slack_channel: "#shop"}
        annotations: {summary: "shop is slow to burn"}
"""


def spec_of(text: str):  # type: ignore[no-untyped-def]
    return parse_spec(HEAD + text).spec


def alerts_of(text: str) -> list[dict[str, Any]]:
    groups = rule_set(spec_of(text)).groups
    return [r for g in groups for r in g["rules"] if "alert" in r and "slo" in r["labels"]]


def test_without_alerts_the_labels_are_slocheck_own() -> None:
    page, ticket = alerts_of(AVAILABILITY)
    assert page["labels"] == {
        "severity": "page",
        "slo_severity": "critical",
        "slo": "availability",
        "sli": "availability",
        "service": "shop",
    }
    assert ticket["labels"]["severity"] == "ticket"
    assert set(page["annotations"]) == {"summary", "description"}


def test_the_users_labels_and_annotations_are_over_slocheck_own() -> None:
    page, ticket = alerts_of(AVAILABILITY + ALERTS)
    assert page["labels"] == {
        "severity": "pageteam",
        "slo_severity": "critical",
        "slo": "availability",
        "sli": "availability",
        "service": "shop",
        "routing_key": "shop-oncall",
    }
    assert page["annotations"]["runbook"] == "https://runbooks/shop"
    assert "burning its error budget (page)" in page["annotations"]["summary"]
    assert ticket["labels"]["severity"] == "ticket"  # the user gave none: slocheck's
    assert ticket["labels"]["slack_channel"] == "#shop"
    assert ticket["annotations"]["summary"] == "shop is slow to burn"


def test_the_promtool_tests_expect_the_users_labels() -> None:
    tests = rule_tests(spec_of(AVAILABILITY + ALERTS)).tests
    expected = [
        a["exp_labels"]
        for t in tests
        for case in t["alert_rule_test"]
        for a in case["exp_alerts"]
        if a["exp_labels"].get("slo") == "availability"
    ]
    assert {"pageteam", "ticket"} == {e["severity"] for e in expected}
    assert all(e["routing_key"] == "shop-oncall" for e in expected if e["severity"] == "pageteam")


def test_a_disabled_alert_is_not_written_nor_expected() -> None:
    text = AVAILABILITY + "    alerts: {ticket: {disable: true}}\n"
    (page,) = alerts_of(text)
    assert page["labels"]["severity"] == "page"
    tests = rule_tests(spec_of(text)).tests
    fired = {
        a["exp_labels"]["severity"]
        for t in tests
        for c in t["alert_rule_test"]
        for a in c["exp_alerts"]
        if "slo" in a["exp_labels"]
    }
    assert fired == {"page"}


def test_a_threshold_slo_takes_the_settings_of_its_severity() -> None:
    (critical,) = alerts_of(LATENCY + ALERTS)
    assert critical["labels"]["severity"] == "pageteam"
    (warning,) = alerts_of(LATENCY + "    severity: warning\n" + ALERTS)
    assert warning["labels"]["slack_channel"] == "#shop"
    assert warning["labels"]["severity"] == "ticket"
    assert alerts_of(LATENCY + "    alerts: {page: {disable: true}}\n") == []


def test_the_routes_match_the_users_severities() -> None:
    spec = spec_of(AVAILABILITY + ALERTS)
    assert severities(spec) == {"page": ["page", "pageteam"], "ticket": ["ticket"]}
    route = routes(spec)["route"]["routes"][0]["routes"]
    assert route[0]["matchers"] == ['severity=~"page|pageteam"']
    assert route[1]["matchers"] == ['severity="ticket"']
    assert routes(spec)["inhibit_rules"][0]["source_matchers"] == ['severity=~"page|pageteam"']
    plain = routes(spec_of(AVAILABILITY))
    assert plain["route"]["routes"][0]["routes"][0]["matchers"] == ['severity="page"']


def test_a_ticket_with_a_pages_severity_is_routed_as_a_page() -> None:
    text = AVAILABILITY + "    alerts: {ticket: {labels: {severity: page}}}\n"
    assert severities(spec_of(text)) == {"page": ["page"], "ticket": ["ticket"]}


def test_a_regex_severity_is_escaped() -> None:
    assert matcher(["page", "p.1"]) == 'severity=~"page|p\\\\.1"'


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ("{page: {labels: {slo: x}}}", "slocheck's own"),
        ("{page: {labels: {service: x}}}", "slocheck's own"),
        ("{page: {labels: {team-name: x}}}", "not a Prometheus label name"),
        ("{page: {annotations: {__x: y}}}", "not a Prometheus annotation name"),
        ("{page: {labels: {team: 3}}}", "expected text"),
        ("{pager: {}}", "pager"),
    ],
)
def test_bad_alerts_are_refused_at_their_field(alerts: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        spec_of(AVAILABILITY + f"    alerts: {alerts}\n")
    assert e.value.line == 8, str(e.value)
    assert message in str(e.value), str(e.value)
