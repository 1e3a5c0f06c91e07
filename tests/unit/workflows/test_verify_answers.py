"""``verify`` hands every answer's warnings and the spec's ``prometheus.accept_partial`` and
``prometheus.dedup_labels`` to the checks (slocheck.evaluate.answers)."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.evaluate.counters import Series
from slocheck.evaluate.verdicts import Window
from slocheck.prom.client import FakePromClient
from slocheck.slofile import parse_spec
from slocheck.workflows.verify import verify

W = Window(1000.0, 1600.0)
SPEC = """\
version: 1
prometheus: {{selector: 'job="demo"'{extra}}}
slos:
  - {{name: availability, sli: availability, objective: 99%}}
  - {{name: throughput, sli: throughput, threshold: 150}}
  - {{name: probe, sli: promql, query: 'sum(x)', op: ">=", threshold: 1}}
"""


def _counter(labels: dict[str, str], n: float) -> Series:
    return Series({"job": "demo", **labels}, [(W.start - 10, 0.0), (W.end, n)])


def _verdicts(spec: str, client: FakePromClient) -> dict[str, tuple[str, str | None]]:
    result = verify(parse_spec(spec), client, W)
    return {r.name: (r.verdict, r.details.get("check")) for r in result.results}


def test_warnings_make_every_slo_an_error_unless_the_spec_accepts_partial_answers() -> None:
    series = {"http_requests_total": [_counter({"status": "200"}, 120_000)]}
    client = FakePromClient(series=series, values={"sum(x)": [5.0]}, warnings=["partial response"])
    assert set(_verdicts(SPEC.format(extra=""), client).values()) == {("error", "partial_response")}
    accepted = _verdicts(SPEC.format(extra=", accept_partial: true"), client)
    assert accepted == {
        "availability": ("pass", None),
        "throughput": ("pass", None),
        "probe": ("pass", None),
    }


def test_replicas_are_an_error_until_the_spec_names_the_replica_label() -> None:
    pair = [_counter({"status": "200", "replica": r}, 60_000) for r in ("A", "B")]
    client = FakePromClient(series={"http_requests_total": pair}, values={"sum(x)": [5.0]})
    plain = _verdicts(SPEC.format(extra=""), client)
    assert plain["throughput"] == ("error", "duplicate_series")
    deduped = _verdicts(SPEC.format(extra=", dedup_labels: [replica]"), client)
    assert deduped["throughput"] == ("fail", None)  # 100/s, not the 200/s of a sum


def test_dedup_labels_must_be_label_names() -> None:
    for bad in ("[le]", "['a-b']", "[__name__]"):
        with pytest.raises(SpecError, match="dedup_labels"):
            parse_spec(SPEC.format(extra=f", dedup_labels: {bad}"))
