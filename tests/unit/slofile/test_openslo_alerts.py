"""OpenSLO ``alertPolicies`` -> the SLO's ``alerts:`` (slocheck.slofile.openslo_alerts): which
alert each policy sets, its labels, and errors at the line."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.rules.prometheus import BURNS
from slocheck.slofile import parse_spec
from slocheck.slofile.openslo_alerts import PAGE_FACTOR
from slocheck.workflows.convert import to_openslo

STREAM = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: shop
  budgetingMethod: Occurrences
  indicator:
    metadata: {name: i}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'http_requests_total{job="shop",status=~"5.."}'}
        total:
          metricSource: {type: Prometheus, spec: {query: 'http_requests_total{job="shop"}'}}
  objectives:
    - target: 0.99
  alertPolicies:
    - alertPolicyRef: fast-burn
    - kind: AlertPolicy
      metadata: {name: slow-burn, labels: {channel: "#shop"}}
      spec:
        description: the budget goes slowly
        alertWhenBreaching: true
        conditions:
          - kind: AlertCondition
            metadata: {name: slow}
            spec:
              severity: ticket-queue
              condition: {kind: burnrate, op: gte, threshold: 2, lookbackWindow: 1d}
        notificationTargets:
          - kind: AlertNotificationTarget
            metadata: {name: shop-slack}
            spec: {target: slack}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: fast-burn
  labels:
    team: [payments, checkout]
    tier: "1"
    openslo.com/owner: shop
spec:
  alertWhenBreaching: true
  conditions:
    - conditionRef: fast
  notificationTargets:
    - targetRef: shop-pager
---
apiVersion: openslo/v1
kind: AlertCondition
metadata: {name: fast}
spec:
  severity: sev1
  condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 5m}
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: shop-pager}
spec: {target: pagerduty}
"""


def test_the_page_factor_is_the_rules_slowest_page_pair() -> None:
    assert min(b.factor for b in BURNS["page"]) == PAGE_FACTOR


def test_each_policy_sets_the_alert_of_its_burn_rate() -> None:
    loaded = parse_spec(STREAM, "o.yaml")
    alerts = loaded.spec.slos[0].alerts
    assert alerts is not None
    assert alerts.page.labels == {
        "team": "payments,checkout",
        "tier": "1",
        "severity": "sev1",
        "notification_targets": "shop-pager",
    }
    assert alerts.page.annotations == {}
    assert alerts.ticket.labels == {
        "channel": "#shop",
        "severity": "ticket-queue",
        "notification_targets": "shop-slack",
    }
    assert alerts.ticket.annotations == {"description": "the budget goes slowly"}
    assert not alerts.page.disable and not alerts.ticket.disable
    told = "\n".join(loaded.warnings)
    assert "openslo.com/owner" in told and "not on the alerts" in told
    assert "burn rate 14.4x) sets the labels of the page alert" in told
    assert "burn rate 2x) sets the labels of the ticket alert" in told


def test_alert_when_breaching_false_turns_the_alert_off() -> None:
    text = STREAM.replace(
        "alertWhenBreaching: true\n  conditions", "alertWhenBreaching: false\n  conditions"
    )
    alerts = parse_spec(text, "o.yaml").spec.slos[0].alerts
    assert alerts is not None and alerts.page.disable and not alerts.ticket.disable


def test_an_slo_without_policies_has_no_alerts_and_an_unused_policy_is_told() -> None:
    text = STREAM.replace("    - alertPolicyRef: fast-burn\n", "")
    loaded = parse_spec(text, "o.yaml")
    assert any("AlertPolicy fast-burn: no SLO" in w for w in loaded.warnings), loaded.warnings
    start, end = STREAM.index("  alertPolicies:"), STREAM.index("---")
    assert parse_spec(STREAM[:start] + STREAM[end:], "o.yaml").spec.slos[0].alerts is None


@pytest.mark.parametrize(
    ("replace", "by", "at", "message"),
    [
        ("alertPolicyRef: fast-burn", "alertPolicyRef: fast", "alertPolicyRef", "no AlertPolicy"),
        ("conditionRef: fast", "conditionRef: slow", "conditionRef", "no AlertCondition"),
        ("threshold: 2,", "threshold: 20,", "- kind: AlertPolicy", "a second alert policy for"),
        ("kind: burnrate, op: gte, threshold: 2", "kind: x, threshold: 2", "kind: x", "burnrate"),
        ('tier: "1"', "tier: 1", "tier: 1", "a string or a list of strings"),
        ("  severity: sev1\n", "", "spec:\n  condition:", "field required"),
    ],
)
def test_errors_name_the_line(replace: str, by: str, at: str, message: str) -> None:
    assert replace in STREAM
    text = STREAM.replace(replace, by, 1)
    with pytest.raises(SpecError) as e:
        parse_spec(text, "o.yaml")
    assert message in str(e.value), str(e.value)
    assert e.value.line == text[: text.index(at)].count("\n") + 1, str(e.value)


def test_convert_keeps_the_alerts_in_the_annotation_and_reads_them_back() -> None:
    from tests.unit.slofile.test_sloth import ALERTING

    loaded = parse_spec(ALERTING, "sloth.yaml")
    text = to_openslo(loaded).text
    back = parse_spec(text, "o.yaml").spec.slos[0].alerts
    assert back == loaded.spec.slos[0].alerts
    assert back is not None and back.page.labels["severity"] == "pageteam"
    twice = STREAM.replace(
        "metadata:\n  name: availability\n",
        "metadata:\n  name: availability\n  annotations:\n"
        "    slocheck.dev/slo: '{alerts: {page: {labels: {a: b}}}}'\n",
    )
    with pytest.raises(SpecError) as e:
        parse_spec(twice, "o.yaml")
    assert "alert settings twice" in str(e.value)
