"""Imported alert settings reach the generated alerts and routes: a Sloth spec's own alert
labels and annotations, and an OpenSLO stream's alert policies.

``slocheck generate`` on a Sloth spec whose ``alerting`` gives the page alert
``severity: pageteam`` and a routing key, the ticket alert ``severity: slack`` and a Slack
channel; then a promtool test written here by hand (not the one slocheck generates) feeds the
raw counters at steady error ratios around Sloth's burn factors for a 30d period
(internal/alert/windows/google-30d.yaml: page 14.4x over 1h and 5m or 6x over 6h and 30m,
ticket 3x over 1d and 2h or 1x over 3d and 6h) and expects the alerts with exactly the user's
labels and annotations; and amtool routes them to the pager and the tickets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run_cli
from tests.unit.slofile.test_openslo_alerts import STREAM

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="needs promtool (scripts/setup.sh installs it)"
)

SLOTH = """\
version: "prometheus/v1"
service: "shop"
labels:
  owner: "team-a"
slos:
  - name: "requests-availability"
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_requests_total{job="shop",status=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total{job="shop"}[{{.window}}]))
    alerting:
      name: ShopHighErrorRate
      labels:
        category: "availability"
      annotations:
        runbook: "https://runbooks.example/shop-errors"
      page_alert:
        labels:
          severity: "pageteam"
          routing_key: "shop-oncall"
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#shop-alerts"
        annotations:
          summary: "shop errors are eating the budget"
"""
#: the labels every alert of the SLO has: slocheck's own, then the spec's and alerting's
SLO = {
    "slo_severity": "critical",
    "slo": "requests-availability",
    "sli": "availability",
    "service": "shop",
    "owner": "team-a",
    "category": "availability",
}
PAGE = {**SLO, "severity": "pageteam", "routing_key": "shop-oncall"}
TICKET = {**SLO, "severity": "slack", "slack_channel": "#shop-alerts"}
RUNBOOK = "https://runbooks.example/shop-errors"
AMTOOL_TEST = ("amtool", "config", "routes", "test")


def _series(bad: int, good: int) -> list[dict[str, str]]:
    """A minute apart for 70 minutes: ``bad`` 5xx and ``good`` 200 answers a minute."""
    return [
        {"series": 'http_requests_total{job="shop",status="500"}', "values": f"0+{bad}x70"},
        {"series": 'http_requests_total{job="shop",status="200"}', "values": f"0+{good}x70"},
    ]


def _test(name: str, bad: int, good: int, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": name,
        "interval": "1m",
        "input_series": _series(bad, good),
        "alert_rule_test": [
            {
                "eval_time": "70m",
                "alertname": "RequestsAvailabilityErrorBudgetBurn",
                "exp_alerts": alerts,
            }
        ],
    }


@pytest.fixture(scope="module")
def sloth_generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``slocheck generate --check`` of the Sloth spec, once for the module (its promtool tests
    of three-day burn windows are most of the module's time): the folder it wrote."""
    spec = tmp_path_factory.mktemp("sloth") / "sloth.yaml"
    spec.write_text(SLOTH)
    out = spec.parent / "out"
    result = run_cli(["generate", "--slo", str(spec), "--out", str(out), "--check"], 600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok promtool test rules" in result.stdout  # slocheck's own tests pass too
    return out


def _generated(tmp_path: Path, sloth_generated: Path) -> dict[str, Any]:
    """The generated files, copied into the test's own ``tmp_path / "out"``; the rules."""
    out = tmp_path / "out"
    shutil.copytree(sloth_generated, out)
    rules: dict[str, Any] = yaml.safe_load((out / "prometheus-rules.yml").read_text())
    return rules


def _annotations(rules: dict[str, Any], severity: str) -> dict[str, str]:
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") and rule["labels"].get("severity") == severity:
                found: dict[str, str] = rule["annotations"]
                return found
    raise AssertionError(f"no alert with severity {severity}")


def _tests(rules: dict[str, Any], page_labels: dict[str, str]) -> dict[str, Any]:
    page = {"exp_labels": page_labels, "exp_annotations": _annotations(rules, "pageteam")}
    ticket = {"exp_labels": TICKET, "exp_annotations": _annotations(rules, "slack")}
    assert page["exp_annotations"]["runbook"] == RUNBOOK  # alerting.annotations
    assert ticket["exp_annotations"]["runbook"] == RUNBOOK
    assert ticket["exp_annotations"]["summary"] == "shop errors are eating the budget"
    assert page["exp_annotations"]["summary"] == (
        "shop: SLO requests-availability is burning its error budget (page)"
    )
    return {
        "rule_files": ["prometheus-rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            # 15x the 1% budget: past 14.4x over 1h and 5m (and every ticket pair)
            _test("15x pages and tickets", 15, 85, [page, ticket]),
            # 13x: under 14.4x, past 6x over 6h and 30m: still a page
            _test("13x pages by the 6x pair", 13, 87, [page, ticket]),
            # 4x: past 3x over 1d and 2h, under every page pair
            _test("4x tickets only", 4, 96, [ticket]),
            # 2x: past 1x over 3d and 6h only
            _test("2x tickets only", 2, 98, [ticket]),
            # half the budget's rate: nothing
            _test("0.5x is quiet", 1, 199, []),
        ],
    }


def _promtool_test(out: Path, tests: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    (out / "sloth-labels.test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    return subprocess.run(
        ["promtool", "test", "rules", "sloth-labels.test.yml"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_sloth_alerts_fire_with_exactly_the_users_labels_and_annotations(
    tmp_path: Path, sloth_generated: Path
) -> None:
    rules = _generated(tmp_path, sloth_generated)
    result = _promtool_test(tmp_path / "out", _tests(rules, PAGE))
    assert result.returncode == 0, result.stdout + result.stderr
    # slocheck's own severity in place of the user's: promtool sees the difference
    wrong = _promtool_test(tmp_path / "out", _tests(rules, {**PAGE, "severity": "page"}))
    assert wrong.returncode != 0, wrong.stdout


@pytest.mark.skipif(shutil.which("amtool") is None, reason="needs amtool")
@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (PAGE, "shop-pager"),
        (TICKET, "shop-tickets"),
        ({**SLO, "severity": "page"}, "shop-pager"),  # the service alerts keep slocheck's
    ],
)
def test_the_routes_send_the_users_severities_to_the_pager_and_the_tickets(
    tmp_path: Path, sloth_generated: Path, labels: dict[str, str], receiver: str
) -> None:
    _generated(tmp_path, sloth_generated)
    config = tmp_path / "out" / "alertmanager-routes.yml"
    check = subprocess.run(
        ["amtool", "check-config", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    routed = subprocess.run(
        ["amtool", "config", "routes", "test", f"--config.file={config}"]
        + [f"{k}={v}" for k, v in labels.items()],
        capture_output=True,
        text=True,
        check=False,
    )
    assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr


@pytest.mark.skipif(shutil.which("amtool") is None, reason="needs amtool")
def test_openslo_alert_policies_reach_the_alerts_and_the_routes(tmp_path: Path) -> None:
    spec = tmp_path / "openslo.yaml"
    spec.write_text(STREAM)
    out = tmp_path / "out"
    result = run_cli(["generate", "--slo", str(spec), "--out", str(out), "--check"], 600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok promtool test rules" in result.stdout  # its tests expect the policies' labels
    rules = yaml.safe_load((out / "prometheus-rules.yml").read_text())
    labels = [r["labels"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert {"severity": "sev1", "notification_targets": "shop-pager"}.items() <= labels[0].items()
    assert labels[1]["severity"] == "ticket-queue"
    config = out / "alertmanager-routes.yml"
    for severity, receiver in (("sev1", "shop-pager"), ("ticket-queue", "shop-tickets")):
        routed = subprocess.run(
            [*AMTOOL_TEST, f"--config.file={config}", "service=shop", f"severity={severity}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert routed.stdout.strip() == receiver, routed.stdout + routed.stderr
