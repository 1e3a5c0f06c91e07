"""OpenSLO v1 -> slocheck's model: detection, the mapping of each shape, and file:line:field
errors for what cannot be mapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import load_spec, parse_spec

EXAMPLES = Path(__file__).parents[3] / "examples"


def slo(indicator: str, objective: str = "- target: 0.99", extra: str = "") -> str:
    """One OpenSLO SLO document around an indicator spec (indented 6 spaces)."""
    return f"""\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: s
{extra}spec:
  service: demo
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 7d
      isRolling: true
  indicator:
    metadata: {{name: i}}
    spec:
{indicator}
  objectives:
    {objective}
"""


def ratio(good_or_bad: str, query: str, total: str, counter: str = "true") -> str:
    return f"""\
      ratioMetric:
        counter: {counter}
        {good_or_bad}:
          metricSource: {{type: Prometheus, spec: {{query: '{query}'}}}}
        total:
          metricSource: {{type: Prometheus, spec: {{query: '{total}'}}}}"""


def threshold(query: str) -> str:
    return f"""\
      thresholdMetric:
        metricSource: {{type: Prometheus, spec: {{query: '{query}'}}}}"""


def error_of(text: str) -> SpecError:
    with pytest.raises(SpecError) as e:
        parse_spec(text, "o.yaml")
    return e.value


def test_the_example_maps_to_the_built_in_slis_of_examples_slos() -> None:
    mine, theirs = load_spec(EXAMPLES / "slos.yaml").spec, load_spec(EXAMPLES / "openslo/slos.yaml")
    assert theirs.format == "openslo"
    spec = theirs.spec
    assert spec.service.name == mine.service.name and spec.period == 28 * 86400
    assert spec.prometheus.selector.replace(" ", "") == mine.prometheus.selector.replace(" ", "")
    assert spec.load == mine.load and spec.prometheus.scrape_interval == 1.0
    fields = ("name", "sli", "objective", "threshold", "percentile", "severity", "metric")
    assert [[getattr(s, f) for f in fields] for s in spec.slos] == [
        [getattr(s, f) for f in fields] for s in mine.slos
    ]


@pytest.mark.parametrize(
    ("indicator", "objective", "expected"),
    [
        # a bad/total ratio of the requests counter with status=~"5..": availability
        (
            ratio(
                "bad",
                'sum(rate(http_requests_total{job="a",status=~"5.."}[5m]))',
                'sum(rate(http_requests_total{job="a"}[5m]))',
            ),
            "- targetPercent: 99.9",
            {"sli": "availability", "objective": 0.999},
        ),
        # the bucket le=0.3 over all: latency_ratio, whatever spelling of the bound
        (
            ratio("good", 'x_seconds_bucket{job="a",le="0.3"}', 'x_seconds_count{job="a"}'),
            "- target: 0.9",
            {"sli": "latency_ratio", "threshold": 0.3, "metric": "x_seconds"},
        ),
        (
            ratio(
                "good",
                'x_seconds_bucket{job="a",le=~"1.0|1"}',
                'x_seconds_bucket{job="a",le="+Inf"}',
            ),
            "- target: 0.9",
            {"sli": "latency_ratio", "threshold": 1.0},
        ),
        # other counters: sli ratio, counted exactly
        (
            ratio("good", 'increase(ok_total{job="a"}[{{.window}}])', 'all_total{job="a"}'),
            "- target: 0.95",
            {"sli": "ratio", "good": "ok_total", "total": "all_total", "objective": 0.95},
        ),
        # not counters (counter: false), or any other query: promql with the window
        (
            ratio("good", 'sum(g{job="a"})', 'sum(h{job="a"})', counter="false"),
            "- target: 0.95",
            {
                "sli": "promql",
                "query": '(sum(g{job="a"})) / (sum(h{job="a"}))',
                "op": ">=",
                "threshold": 0.95,
            },
        ),
        (
            ratio("bad", "sum by (x) (rate(e_total[{{.window}}]))", "sum(rate(t_total[5m]))"),
            "- target: 0.95",
            {
                "sli": "promql",
                "query": "1 - ((sum by (x) (rate(e_total[$window]))) or vector(0)) / "
                "(sum(rate(t_total[5m])))",
            },
        ),
        # a histogram quantile of a seconds histogram, lte: latency (ttft by its metric)
        (
            threshold(
                "histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket"
                '{job="a"}[5m])) by (le))'
            ),
            "- {op: lte, value: 0.25, target: 0.99}",
            {"sli": "latency", "percentile": 95.0, "threshold": 0.25, "metric": None},
        ),
        (
            threshold(
                "histogram_quantile(0.5, sum by (le) (increase("
                'ml_time_to_first_token_seconds_bucket{job="a"}[1m])))'
            ),
            "- {op: lte, value: 0.1, target: 0.99}",
            {"sli": "ttft", "percentile": 50.0, "threshold": 0.1},
        ),
        # a rate, gte: throughput
        (
            threshold('sum(rate(http_requests_total{job="a"}[5m]))'),
            "- {op: gte, value: 20, target: 0.99}",
            {"sli": "throughput", "threshold": 20.0},
        ),
        # anything else: promql
        (
            threshold("max(queue_depth)"),
            "- {op: lt, value: 10, target: 0.99}",
            {"sli": "promql", "query": "max(queue_depth)", "op": "<", "threshold": 10.0},
        ),
    ],
)
def test_mapping(indicator: str, objective: str, expected: dict[str, object]) -> None:
    loaded = parse_spec(slo(indicator, objective), "o.yaml")
    got = loaded.spec.slos[0]
    assert {k: getattr(got, k) for k in expected} == expected
    assert loaded.spec.period == 7 * 86400


def test_shared_matchers_become_the_selector_and_others_stay() -> None:
    text = slo(ratio("bad", 'e_total{job="a",code="500"}', 't_total{job="a"}'))
    spec = parse_spec(text).spec
    assert spec.prometheus.selector == 'job="a"'
    assert (spec.slos[0].bad, spec.slos[0].total) == ('e_total{code="500"}', "t_total")


def test_a_latency_with_its_own_matchers_stays_promql() -> None:
    # the selector (job="a") comes from the ratio; the quantile also filters on route
    text = (
        slo(ratio("bad", 'e_total{job="a"}', 't_total{job="a"}'))
        + "---\n"
        + slo(
            threshold(
                'histogram_quantile(0.9, sum by (le) (rate(h_seconds_bucket{job="a",route="/x"}'
                "[5m])))"
            ),
            "- {op: lte, value: 1, target: 0.9}",
        ).replace("name: s\n", "name: t\n")
    )
    loaded = parse_spec(text)
    assert [s.sli for s in loaded.spec.slos] == ["ratio", "promql"]
    assert any("t: judged as sli promql" in w for w in loaded.warnings)


def test_annotations_carry_slocheck_settings() -> None:
    service = """\
apiVersion: openslo/v1
kind: Service
metadata:
  name: demo
  annotations:
    slocheck.dev/settings: '{load: {users: 3, duration: 1m}, service: {model: classifier}}'
---
"""
    extra = "  annotations: {slocheck.dev/slo: '{severity: warning, sli: error_ratio}'}\n"
    text = service + slo(
        ratio("bad", 'http_requests_total{status=~"5.."}', "http_requests_total"),
        "- target: 0.995",
        extra,
    )
    spec = parse_spec(text).spec
    assert spec.load.users == 3 and spec.load.duration == 60 and spec.service.model == "classifier"
    assert spec.slos[0].sli == "error_ratio" and spec.slos[0].severity == "warning"
    assert spec.slos[0].threshold == pytest.approx(0.005)


def test_several_objectives_are_several_slos() -> None:
    text = slo(
        ratio("bad", 'http_requests_total{status=~"5.."}', "http_requests_total"),
        "- {displayName: Three nines, target: 0.999}\n    - {displayName: Two, target: 0.99}",
    )
    assert [(s.name, s.objective) for s in parse_spec(text).spec.slos] == [
        ("s-three-nines", 0.999),
        ("s-two", 0.99),
    ]


def test_detection_needs_no_flag() -> None:
    assert parse_spec(slo(threshold("max(x)"), "- {op: lt, value: 1, target: 0.9}")).format == (
        "openslo"
    )
    assert parse_spec(
        "version: 1\nslos: [{name: a, sli: availability, objective: 99%}]"
    ).format == ("slocheck")


OK_RATIO = ratio("bad", 'http_requests_total{status=~"5.."}', "http_requests_total")


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            slo(OK_RATIO).replace("Occurrences", "Timeslices"),
            7,
            "spec.budgetingMethod",
            "Timeslices",
        ),
        (
            slo(OK_RATIO.replace("type: Prometheus", "type: Datadog", 1)),
            17,
            "spec.indicator.spec.ratioMetric.bad.metricSource.type",
            "Prometheus only",
        ),
        (slo(OK_RATIO).replace("7d", "1M"), 9, "spec.timeWindow[0].duration", "no fixed length"),
        (slo(OK_RATIO).replace("openslo/v1", "openslo/v1alpha"), 1, "apiVersion", "expected"),
        (
            slo(OK_RATIO, "- targetPercent: 120"),
            21,
            "spec.objectives[0].targetPercent",
            "expected a target",
        ),
        (
            slo(OK_RATIO, "- {target: 0.9, timeSliceTarget: 0.9}"),
            21,
            "spec.objectives[0].timeSliceTarget",
            "time slices",
        ),
        (
            slo(threshold("max(x)"), "- {op: eq, value: 1, target: 0.9}"),
            17,
            "spec.objectives[0].op",
            "expected one of",
        ),
        (
            slo(OK_RATIO, extra="  annotations: {slocheck.dev/slo: '{sevrity: warning}'}\n"),
            5,
            "metadata.annotations.slocheck.dev/slo",
            "sevrity",
        ),
        (slo(OK_RATIO).replace("kind: SLO", "kind: Project"), 2, "kind", "expected one of"),
        (
            slo(OK_RATIO).replace("indicator:", "indicatorRef: nope\n  x:"),
            11,
            "spec.indicatorRef",
            "no SLI named",
        ),
    ],
)
def test_errors_name_file_line_and_field(text: str, line: int, field: str, message: str) -> None:
    e = error_of(text)
    assert (e.file, e.line, e.field) == ("o.yaml", line, field), str(e)
    assert message in e.message, str(e)


def test_an_error_after_mapping_points_at_the_source() -> None:
    # a latency threshold that is no duration is found by slocheck's model after the mapping
    e = error_of(slo(threshold("max(x)"), "- {op: gte, value: .nan, target: 0.9}"))
    assert (e.line, e.field) == (17, "spec.objectives[0].value"), str(e)
    assert "threshold" in e.message


def test_a_bad_setting_in_the_annotation_names_it() -> None:
    text = (
        "apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: demo\n  annotations:\n"
        "    slocheck.dev/settings: '{load: {users: 0}}'\n---\n"
        + slo(threshold("max(x)"), "- {op: lt, value: 1, target: 0.9}")
    )
    e = error_of(text)
    assert (e.line, e.field) == (6, "metadata.annotations.slocheck.dev/settings"), str(e)
    assert e.message.startswith("load.users: ")
