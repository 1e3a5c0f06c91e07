"""The SLI kinds' records (slocheck.slofile.kinds): the tables every module reads from them are
those the modules once wrote out, and ``sli:`` is checked against the registry in the words a
Literal gave."""

from __future__ import annotations

from typing import Literal, get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from slocheck.errors import SpecError
from slocheck.evaluate.judge import JUDGES, kind_added
from slocheck.evaluate.plan import PLANNERS
from slocheck.slofile import KINDS, SliKind, parse_spec
from slocheck.slofile.kinds import (
    COMMON_FIELDS,
    compact_names,
    counts_failed_requests,
    expected_names,
    kinds_of,
    register,
)

#: The per-kind tables as slofile/model.py wrote them before the records (issue 26).
REQUIRED = {
    "availability": ("objective",),
    "latency": ("threshold", "percentile"),
    "latency_ratio": ("threshold", "objective"),
    "error_ratio": ("threshold",),
    "throughput": ("threshold",),
    "ttft": ("threshold", "percentile"),
    "inter_token_latency": ("threshold", "percentile"),
    "token_throughput": ("threshold",),
    "goodput": ("objective", "constraints"),  # issue 27: judged from the client's records
    "ratio": ("objective", "total"),
    "promql": ("query", "op", "threshold"),
}
CLIENT = {
    "availability",
    "error_ratio",
    "throughput",
    "latency",
    "latency_ratio",
    "ttft",
    "inter_token_latency",
    "token_throughput",
    "goodput",
}
THRESHOLD_UNITS = {
    "latency": "duration",
    "latency_ratio": "duration",
    "ttft": "duration",
    "inter_token_latency": "duration",
    "error_ratio": "ratio",
    "throughput": "number",
    "token_throughput": "number",
    "promql": "number",
}
DEFAULT_METRICS = {
    "availability": "http_requests_total",
    "error_ratio": "http_requests_total",
    "throughput": "http_requests_total",
    "latency": "http_request_duration_seconds",
    "latency_ratio": "http_request_duration_seconds",
    "ttft": "ml_time_to_first_token_seconds",
    "inter_token_latency": "ml_inter_token_latency_seconds",
    "token_throughput": "ml_generated_tokens_total",
}
COMPACT = {
    "uptime": ("availability", "objective"),
    "requests": ("availability", "objective"),
    "availability": ("availability", "objective"),
    "response_time": ("latency", "threshold"),
    "latency": ("latency", "threshold"),
    "error_ratio": ("error_ratio", "threshold"),
    "error_rate": ("error_ratio", "threshold"),
    "throughput": ("throughput", "threshold"),
    "ttft": ("ttft", "threshold"),
    "time_to_first_token": ("ttft", "threshold"),
    "inter_token_latency": ("inter_token_latency", "threshold"),
    "goodput": ("goodput", "objective"),
}


def _old_allowed() -> dict[str, frozenset[str]]:
    allowed = {s: frozenset(req) | {"metric", "min_samples"} for s, req in REQUIRED.items()}
    allowed["availability"] |= {"measurement", "abort_on_fail", "abort_delay"}
    allowed["error_ratio"] |= {"abort_on_fail", "abort_delay"}
    for histogram in ("latency", "ttft", "inter_token_latency"):
        allowed[histogram] |= {"interpolate", "unit"}
    allowed["latency_ratio"] |= {"unit"}
    allowed["ratio"] = frozenset({"objective", "total", "good", "bad", "min_samples"})
    allowed["promql"] -= {"metric"}
    allowed["goodput"] -= {"metric"}
    for sli in CLIENT:
        allowed[sli] |= {"source"}
    return allowed


def test_records_give_the_former_tables() -> None:
    assert list(KINDS) == list(REQUIRED)
    assert {n: k.required for n, k in KINDS.items()} == REQUIRED
    assert {n: k.allowed for n, k in KINDS.items()} == _old_allowed()
    assert {n for n, k in KINDS.items() if k.client_measure} == CLIENT
    units = {n: k.threshold_unit for n, k in KINDS.items() if k.threshold_unit}
    assert units == THRESHOLD_UNITS
    metrics = {n: k.default_metric for n, k in KINDS.items() if k.default_metric}
    assert metrics == DEFAULT_METRICS
    assert {a: (k.name, k.compact_target) for a, k in compact_names().items()} == COMPACT
    assert list(compact_names()) == list(COMPACT)  # the order "did you mean" reads them in
    assert kinds_of("quantile") == ("latency", "ttft", "inter_token_latency")
    assert kinds_of("requests") == ("availability", "error_ratio", "throughput")
    assert [n for n in KINDS if counts_failed_requests(n)] == ["availability", "error_ratio"]
    assert [n for n, k in KINDS.items() if k.rate_unit] == ["throughput", "token_throughput"]
    assert [n for n, k in KINDS.items() if k.times_requests] == ["latency", "latency_ratio"]
    assert "sli" in COMMON_FIELDS


def test_every_kind_has_a_planner_and_a_judge() -> None:
    for k in KINDS.values():
        assert k.series in PLANNERS, k.name
        assert k.family in JUDGES, k.name


def test_unknown_sli_in_the_words_of_a_literal() -> None:
    """The registry's error is the one pydantic gave for the Literal it replaced."""
    literal = Literal[tuple(KINDS)]  # type: ignore[valid-type]
    with pytest.raises(ValidationError) as e:
        TypeAdapter(literal).validate_python("latncy")  # type: ignore[arg-type]
    assert f"expected one of {expected_names()}," in (
        "expected one of " + str(e.value.errors()[0]["ctx"]["expected"]) + ","
    )
    assert len(get_args(literal)) == len(KINDS)
    cases = (
        ("latncy", '"latncy"'),
        ("3", "3"),
        ('" latency"', '" latency"'),
        ("null", "nothing (null)"),
    )
    for bad, shown in cases:
        text = f"version: 1\nslos:\n- {{name: a, sli: {bad}, objective: 99%}}\n"
        with pytest.raises(SpecError) as err:
            parse_spec(text)
        assert f"slos[0].sli: expected one of {expected_names()}, got {shown}" in str(err.value)
    with pytest.raises(SpecError, match="did you mean 'latency'"):
        parse_spec("version: 1\nslos:\n- {name: a, sli: latncy, threshold: 1s, percentile: 9}\n")


def test_register_is_undone_and_refuses_a_taken_name() -> None:
    toy = SliKind("toy", family="toy", series="counter", required=("threshold",))
    with pytest.raises(ValueError, match="already a kind"), register(KINDS["latency"]):
        pass
    with pytest.raises(ValueError, match="has no judge"), kind_added(toy):
        pass
    taken = SliKind("toy", "quantile", "histogram", ())
    with (
        pytest.raises(ValueError, match="already has a judge"),
        kind_added(taken, JUDGES["quantile"]),
    ):
        pass
    with kind_added(toy, JUDGES["counter_rate"]):
        spec = parse_spec("version: 1\nslos:\n- {name: a, sli: toy, threshold: 3}\n").spec
        assert spec.slos[0].sli == "toy"
    assert "toy" not in KINDS and "toy" not in JUDGES


def test_the_spec_docs_list_the_records() -> None:
    """docs/slo-spec.md: the ``sli`` field's kinds, the table of what each needs and its default
    metric, and the compact form's measurements are the records'."""
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "slo-spec.md").read_text()
    field_row = next(line for line in doc.splitlines() if line.startswith("| `sli` |"))
    assert re.findall(r"`(\w+)`", field_row.split("|")[2]) == list(KINDS)
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0].strip("`") in KINDS and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    assert sorted(rows) == sorted(KINDS)
    for name, (_, needs, metric, _) in rows.items():
        k = KINDS[name]
        assert set(re.findall(r"`(\w+)`", needs)) - {"good", "bad"} == set(k.required), name
        if k.default_metric:
            assert metric.startswith(f"`{k.default_metric}`"), name
        elif k.client_only:
            assert metric == "(the client's records)", name
        else:
            assert metric == "(yours)", name
    compact = doc.split("Measurements: ", 1)[1].split(";", 1)[0]
    assert re.findall(r"`(\w+)`", compact) == list(compact_names())
