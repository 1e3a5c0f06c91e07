"""``verify --with-rules``: the alerts of the generated rules, read from ALERTS over the window,
in the result and the reports; none read without it."""

from __future__ import annotations

import json

from slocheck.evaluate.counters import Series
from slocheck.evaluate.verdicts import Window
from slocheck.prom.client import FakePromClient
from slocheck.report import to_json, to_markdown
from slocheck.slofile import parse_spec
from slocheck.workflows.verify import verify

SPEC = parse_spec(
    "version: 1\nservice: {name: demo}\n"
    "slos: [{name: availability, sli: availability, objective: 99%}]\n"
)
W = Window(1000.0, 1030.0)


def _prom() -> FakePromClient:
    firing = Series(
        {
            "__name__": "ALERTS",
            "alertname": "AvailabilityErrorBudgetBurn",
            "alertstate": "firing",
            "severity": "page",
            "slo": "availability",
            "service": "demo",
        },
        [(float(t), 1.0) for t in range(1001, 1031)],
    )
    return FakePromClient(series={"ALERTS": [firing]})


def test_with_rules_the_alerts_are_in_the_result_and_the_reports() -> None:
    result = verify(SPEC, _prom(), W, with_rules=True)
    assert result.alerts is not None and len(result.alerts) == 1
    a = result.alerts[0]
    assert (a.alertname, a.firing_at, a.firing_in_window_s) == (
        "AvailabilityErrorBudgetBurn",
        1001.0,
        30.0,
    ), "the samples at 1001 ... 1030, one evaluation second each"
    report = json.loads(to_json(result))
    assert report["alerts"][0]["labels"]["severity"] == "page"
    assert "AvailabilityErrorBudgetBurn (page, slo availability" in to_markdown(result)


def test_without_it_no_alert_is_read() -> None:
    prom = _prom()
    result = verify(SPEC, prom, W)
    assert result.alerts is None
    assert all(selector != "ALERTS" for selector, *_ in prom.calls)
    assert json.loads(to_json(result))["alerts"] is None
