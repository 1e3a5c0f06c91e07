from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slocheck.errors import SpecError
from slocheck.slofile import load_spec, parse_spec

EXAMPLES = Path(__file__).parents[3] / "examples"

FULL = """\
version: 1
service:
  name: demo
  faults: {error_rate: 5%, latency: 300ms}
target: {url: "http://127.0.0.1:8000/"}
prometheus:
  url: http://127.0.0.1:9090
  selector: '{job="demo", endpoint=~"/v1/.*"}'
  headers: {X-Scope-OrgID: team-a}
  bearer_token_env: PROM_TOKEN
  scrape_interval: 1s
load: {users: 32, duration: 1m, warmup: 5s}
slos:
  - name: availability
    sli: availability
    objective: 99.9%
  - name: p95
    sli: latency
    percentile: 95
    threshold: 500ms
    severity: warning
  - name: errors
    sli: error_ratio
    threshold: 0.1%
    on_no_data: warn
  - name: custom
    sli: promql
    query: sum(rate(x[$window]))
    op: "<"
    threshold: 3
"""


def test_full_spec() -> None:
    loaded = parse_spec(FULL, "slos.yaml")
    s = loaded.spec
    assert s.service.faults.error_rate == 0.05 and s.service.faults.latency == 0.3
    assert s.target is not None and s.target.url == "http://127.0.0.1:8000"
    assert s.prometheus.selector == 'job="demo", endpoint=~"/v1/.*"'
    assert s.load.duration == 60.0
    assert [x.sli for x in s.slos] == ["availability", "latency", "error_ratio", "promql"]
    assert s.slos[0].objective == 0.999 and s.slos[1].threshold == 0.5
    assert s.slos[2].threshold == 0.001 and s.slos[3].threshold == 3.0
    assert len(loaded.sha256) == 64


def test_compact_form() -> None:
    text = """\
version: 1
slos:
  availability: {target: 99.9%, measurement: uptime}
  latency: {target: 500ms, percentile: 95, measurement: response_time}
  error_rate: {target: 0.1%, measurement: error_ratio}
"""
    slos = parse_spec(text).spec.slos
    assert [(x.name, x.sli) for x in slos] == [
        ("availability", "availability"),
        ("latency", "latency"),
        ("error_rate", "error_ratio"),
    ]
    assert slos[0].measurement == "uptime" and slos[0].objective == 0.999
    assert slos[1].threshold == 0.5 and slos[1].percentile == 95
    assert slos[2].threshold == 0.001


def test_a_guides_slo_block_is_accepted_verbatim() -> None:
    """The "SLA/SLO Definitions" block of an observability guide (shared/seeds), as it is: no
    version, only a compact ``slos:`` mapping, is the compact form of version 1."""
    text = """\
slos:
  availability:
    target: 99.9%
    measurement: uptime
  latency:
    target: 500ms
    percentile: 95
    measurement: response_time
  error_rate:
    target: 0.1%
    measurement: error_ratio
"""
    spec = parse_spec(text).spec
    assert spec.version == 1
    assert [(x.name, x.sli) for x in spec.slos] == [
        ("availability", "availability"),
        ("latency", "latency"),
        ("error_rate", "error_ratio"),
    ]
    # the list form still needs its version, and a wrong one is still refused
    with pytest.raises(SpecError, match="version: field required"):
        parse_spec("slos:\n  - {name: a, sli: availability, objective: 99%}\n")
    with pytest.raises(SpecError, match="version"):
        parse_spec("version: 2\n" + text)


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "slos.yaml")
    return info.value


BASE = "version: 1\nslos:\n  - name: a\n    sli: latency\n    percentile: 95\n    threshold: 1s\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (
            BASE.replace("threshold: 1s", "threshold: fast"),
            6,
            "slos[0].threshold",
            'expected a duration like 500ms, got "fast"',
        ),
        (BASE.replace("threshold: 1s", "thresold: 1s"), 6, "slos[0].thresold", "unknown field"),
        (BASE.replace("sli: latency", "sli: latncy"), 4, "slos[0].sli", 'got "latncy"'),
        (
            BASE.replace("    percentile: 95\n", ""),
            3,
            "slos[0].percentile",
            "required for sli latency",
        ),
        (
            BASE.replace("percentile: 95", "percentile: 100"),
            5,
            "slos[0].percentile",
            "less than 100",
        ),
        (BASE + "    objective: 99%\n", 7, "slos[0].objective", "no meaning for sli latency"),
        (
            BASE + "  - name: a\n    sli: throughput\n    threshold: 5\n",
            7,
            "slos[1].name",
            "duplicate SLO name",
        ),
        (BASE.replace("version: 1", "version: 2"), 1, "version", "got 2"),
        ("version: 1\nslos: []\n", 2, "slos", "needs at least one SLO"),
        (
            "version: 1\nslos:\n  latency: {target: quick, percentile: 95}\n",
            3,
            "slos.latency.target",
            "duration",
        ),
        (
            "version: 1\nslos:\n  latency: {target: 1s, measurement: speed}\n",
            3,
            "slos.latency.measurement",
            "unknown measurement",
        ),
        (
            BASE + "prometheus:\n  selector: 'job=demo'\n",
            8,
            "prometheus.selector",
            "label matchers",
        ),
        (
            BASE + "prometheus:\n  headers: {Authorization: Bearer abc}\n",
            8,
            "prometheus.headers",
            "never go inline",
        ),
        (
            BASE + "prometheus:\n  bearer_token_env: 'my token'\n",
            8,
            "prometheus.bearer_token_env",
            "NAME of an environment variable",
        ),
        (BASE + "load:\n  users: 0\n", 8, "load.users", "expected at least 1, got 0"),
        (
            BASE + "service:\n  faults: {error_rate: 150%}\n",
            8,
            "service.faults.error_rate",
            "between 0% and 100%",
        ),
        (BASE + "version: 1\n", 7, "version", "duplicate key"),
        (BASE + "load:\n  arrival: open\n", 8, "load.arrival", "needs load.rate"),
        (
            BASE + "load:\n  users: 2\n  max_in_flight: 4\n",
            9,
            "load.max_in_flight",
            "only means something for load.arrival open",
        ),
        (
            BASE + "load:\n  distribution: poisson\n",
            8,
            "load.distribution",
            "only means something for load.arrival open",
        ),
        (BASE + "load:\n  arrival: ajar\n", 8, "load.arrival", 'got "ajar"'),
    ],
)
def test_errors_name_line_and_field(text: str, line: int, field: str, message: str) -> None:
    e = _error(text)
    assert (e.file, e.line, e.field) == ("slos.yaml", line, field), str(e)
    assert message in str(e)
    assert str(e).startswith(f"slos.yaml:{line}: {field}: ")


def test_did_you_mean() -> None:
    assert "did you mean 'threshold'" in str(_error(BASE.replace("threshold:", "thresold:")))
    assert "did you mean 'latency'" in str(_error(BASE.replace("sli: latency", "sli: latncy")))
    e = _error(BASE + "promethues: {}\n")
    assert e.field == "promethues" and "did you mean 'prometheus'" in str(e)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a mapping"),
        ("- a\n- b\n", "expected a mapping"),
        ("version: 1\nslos: [\n", "invalid YAML"),
        ("a: !!python/object:os.system x\n", "invalid YAML"),
    ],
)
def test_not_a_spec(text: str, message: str) -> None:
    assert message in str(_error(text))


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    assert "nodes" in str(_error(bomb))


def test_load_spec_from_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(binary)
    good = tmp_path / "slos.yaml"
    good.write_text(BASE)
    assert load_spec(good).path == str(good)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    load_spec(path)


yaml_like = st.text(
    alphabet=st.sampled_from(
        list("version: 1\nslos-[]{}:,'\"&*!%#|>?@`~ \tabcdeflmnoprstuy0123456789.")
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(yaml_like)
def test_no_traceback_for_any_text(text: str) -> None:
    with contextlib.suppress(SpecError):
        parse_spec(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=20,
)
slo_entries = st.dictionaries(
    st.sampled_from(
        [
            "name",
            "sli",
            "objective",
            "threshold",
            "percentile",
            "op",
            "query",
            "measurement",
            "severity",
            "on_no_data",
            "min_samples",
            "metric",
            "target",
        ]
    ),
    json_values | st.sampled_from(["latency", "availability", "99%", "500ms", "<=", "x"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(slo_entries, max_size=3)
    | st.dictionaries(st.text(max_size=8), slo_entries, max_size=3)
)
def test_no_traceback_for_any_slos(slos: object) -> None:
    import json

    try:
        parse_spec(json.dumps({"version": 1, "slos": slos}))
    except SpecError as e:
        assert e.file and str(e)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (BASE.replace("threshold: 1s", "threshold: " + "9" * 400), "slos[0].threshold"),
        (
            "version: 1\nslos:\n  - {name: a, sli: promql, query: x, op: '!=', threshold: .nan}\n",
            "slos[0].threshold",
        ),
        (
            "version: 1\nslos:\n  - {name: a, sli: throughput, threshold: .inf}\n",
            "slos[0].threshold",
        ),
        (BASE + "prometheus: {url: 'http://[::1'}\n", "prometheus.url"),
        (BASE + "prometheus: {url: 'localhost:9090'}\n", "prometheus.url"),
    ],
)
def test_numbers_and_urls_that_cannot_work(text: str, field: str) -> None:
    assert _error(text).field == field


def test_giant_integers_and_endless_files() -> None:
    assert "invalid" in str(_error("version: 1\nslos: " + "9" * 5000 + "\n"))
    with pytest.raises(SpecError, match="larger than"):
        load_spec("/dev/zero")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: r, sli: ratio, objective: 99%, total: t_total}", "exactly one of good: or bad:"),
        (
            "{name: r, sli: ratio, objective: 99%, total: t, good: g, bad: b}",
            "exactly one of good: or bad:",
        ),
        ("{name: r, sli: ratio, objective: 99%, bad: b}", "total: required"),
        ("{name: r, sli: ratio, objective: 99%, bad: 'b{x}', total: t}", "series selector"),
        ("{name: r, sli: ratio, objective: 99%, bad: b, total: t, metric: m}", "no meaning"),
    ],
)
def test_ratio_fields(entry: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(f"version: 1\nslos:\n  - {entry}\n")


def test_ratio_spec() -> None:
    text = (
        "version: 1\nslos:\n  - {name: r, sli: ratio, objective: 99%,"
        " bad: 'deepsynth_errors_total', total: 'deepsynth_requests_total{model=\"x\"}'}\n"
    )
    s = parse_spec(text).spec.slos[0]
    assert (s.bad, s.total) == ("deepsynth_errors_total", 'deepsynth_requests_total{model="x"}')
