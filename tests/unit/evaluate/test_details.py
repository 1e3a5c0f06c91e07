"""``SloResult.details`` is typed (``evaluate.details.SloDetails``): what the judges write is
declared there, and written to the report as it always was (the keys in the order found)."""

from __future__ import annotations

import json
from pathlib import Path

from slocheck.evaluate import SliData, Window, evaluate_slo, plan
from slocheck.evaluate.client_side import ClientSli, judge_client, stricter
from slocheck.evaluate.counters import Series
from slocheck.evaluate.details import CheckDetails, SideDetails, SloDetails
from slocheck.slofile.model import SloSpec

W = Window(1000.0, 1100.0)
GOLDEN = Path(__file__).resolve().parent.parent / "report" / "golden" / "report.json"


def test_every_key_of_the_golden_report_is_declared() -> None:
    declared = set(SloDetails.__optional_keys__)
    for slo in json.loads(GOLDEN.read_text())["slos"]:
        assert set(slo["details"]) <= declared, slo["name"]


def test_both_sides_keep_their_own_details_in_order() -> None:
    s = SloSpec.model_validate(
        {"name": "t", "sli": "ttft", "threshold": "250ms", "percentile": 95, "source": "both"}
    )
    series = [
        Series({"le": le}, [(990.0, 0.0), (1100.0, c)])
        for le, c in (("0.1", 990.0), ("0.25", 990.0), ("+Inf", 1000.0))
    ]
    server = evaluate_slo(s, plan(s, ""), SliData(series=series, query="q"), W)
    client = judge_client(s, plan(s, "", client=True), ClientSli("ttft", 1000, quantile_s=0.3), W)
    both = stricter(server, client)
    assert list(both.details)[:2] == ["window_seconds", "source"]  # the client's, first
    assert (both.details["source"], both.details["judged_by"]) == ("both", "client")
    side: SideDetails = both.details["server"]
    assert list(side) == ["verdict", "value", "samples", "details"]
    # a side's details without what the SLO's own already say (who judged, the window)
    assert "source" not in side["details"] and "window_seconds" not in side["details"]
    assert list(side["details"]) == list(server.details)[1:]
    assert set(both.details) <= set(SloDetails.__optional_keys__)


def test_the_cross_checks_write_only_declared_keys() -> None:
    from slocheck.evaluate.crosscheck import achieved_load, dropped, error_counts, request_counts

    failed = {"/v1/classify": {"500": 3}}
    checks = [
        request_counts({"/v1/classify": 100}, {"/v1/classify": 97.0}, 'job="x"', failed=failed),
        error_counts(failed, {"/v1/classify": 0.0}),
        achieved_load(100, 10.0, rate=10.0, users=1, peak_users=1),
        dropped(2, 98),
    ]
    declared = set(CheckDetails.__optional_keys__)
    for check in checks:
        assert check.details and set(check.details) <= declared, check.name
    assert checks[2].details == {
        "achieved_rps": 10.0,
        "requested_rps": 10.0,
        "requests_in_window": 100,
    }
