"""Issue 24, item 8 (spec side): SLOs that can never fail, and numbers with no finite bound,
are refused with file, line, field and the fix; a URL with a password is refused with the
environment-variable alternative named, and no message shows the password."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import parse_spec

SLO = "slos:\n  - {name: a, sli: availability, objective: 99%}\n"


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        parse_spec("version: 1\n" + text, "slos.yaml")
    return raised.value


@pytest.mark.parametrize(
    ("slo", "field", "fix"),
    [
        ("{name: a, sli: availability, objective: 0%}", "objective", "e.g. 99.9%"),
        ("{name: a, sli: availability, objective: 0}", "objective", "can never fail"),
        ("{name: a, sli: ratio, objective: 0%, bad: e, total: t}", "objective", "can never"),
        (
            "{name: a, sli: latency_ratio, threshold: 1s, objective: 0%}",
            "objective",
            "can never fail",
        ),
        ("{name: a, sli: error_ratio, threshold: 100%}", "threshold", "e.g. 1%"),
        ("{name: a, sli: error_ratio, threshold: 1}", "threshold", "can never fail"),
        ("{name: a, sli: throughput, threshold: -5}", "threshold", "e.g. 10"),
        ("{name: a, sli: throughput, threshold: 0}", "threshold", "can never fail"),
        ("{name: a, sli: token_throughput, threshold: 0}", "threshold", "tokens/s"),
        ("{name: a, sli: latency, percentile: 95, threshold: 0s}", "threshold", "above 0s"),
        ("{name: a, sli: ttft, percentile: 95, threshold: 2d}", "threshold", "at most 24h"),
        ("{name: a, sli: promql, query: '', op: '<', threshold: 1}", "query", "PromQL"),
        ("{name: a, sli: promql, query: '  ', op: '<', threshold: 1}", "query", "empty"),
    ],
)
def test_an_slo_that_can_never_fail_is_refused(slo: str, field: str, fix: str) -> None:
    error = _error(f"slos:\n  - {slo}\n")
    assert error.file == "slos.yaml" and error.line == 3, str(error)
    assert error.field == f"slos[0].{field}", str(error)
    assert fix in str(error)
    assert "Value error" not in str(error) and "pydantic" not in str(error)


def test_the_compact_form_names_target() -> None:
    error = _error("slos:\n  availability: {target: 0%, measurement: uptime}\n")
    assert error.field == "slos.availability.target" and error.line == 3
    assert "can never fail" in str(error)


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        ("load: {duration: 0s}", "load.duration", "expected at least 1s, got 0s"),
        ("load: {duration: 1e300w}", "load.duration", "expected at most 7d"),
        ("load: {duration: 8d}", "load.duration", "expected at most 7d, got 8d"),
        ("load: {warmup: 2d}", "load.warmup", "expected at most 1d, got 2d"),
        ("load: {users: 100000}", "load.users", "expected at most 10000, got 100000"),
        ("load: {rate: .nan}", "load.rate", "finite number"),
        ("load: {rate: .inf}", "load.rate", "finite number"),
        ("load: {rate: 2000000}", "load.rate", "expected at most"),
        ("load: {spawn_rate: .inf}", "load.spawn_rate", "finite number"),
        ("prometheus: {timeout: 0s}", "prometheus.timeout", "above 0s to 10m, e.g. 10s, got 0s"),
        ("prometheus: {timeout: 1h}", "prometheus.timeout", "above 0s to 10m, e.g. 10s, got 1h"),
        ("prometheus: {scrape_interval: 0s}", "prometheus.scrape_interval", "from 100ms to 1h"),
        ("prometheus: {scrape_interval: 2h}", "prometheus.scrape_interval", "got 2h"),
    ],
)
def test_numbers_have_finite_bounds(block: str, field: str, message: str) -> None:
    error = _error(f"{block}\n{SLO}")
    assert error.field == field and error.line == 2, str(error)
    assert message in str(error)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ('{"X-A": "a\\r\\nInjected: 1"}', "line break"),
        ('{"X-A": "a\\nb"}', "line break"),
        ('{"X-A": "a\\u0000b"}', "control character"),
        ('{"X-A\\r\\nB": "v"}', "not a header name"),
        ('{"X A": "v"}', "not a header name"),
        ('{"X-A:": "v"}', "not a header name"),
    ],
)
def test_a_header_that_would_split_the_request_is_refused(headers: str, message: str) -> None:
    error = _error(f"prometheus: {{headers: {headers}}}\n{SLO}")
    assert error.field == "prometheus.headers" and message in str(error), str(error)
    assert "\r" not in str(error) and "\n  hint" not in str(error).split("\n")[0]


def test_a_header_value_is_never_echoed() -> None:
    error = _error(f'prometheus: {{headers: {{"X-Key": "s3cret\\r\\nX: y"}}}}\n{SLO}')
    assert "s3cret" not in str(error)


@pytest.mark.parametrize(
    ("block", "field", "named"),
    [
        ("prometheus: {url: 'http://u:S3CRETPASS@prom:9090'}", "prometheus.url", "basic_auth_env"),
        ("prometheus: {url: 'http://u:S3CRETPASS@prom:9090'}", "prometheus.url", "bearer_token"),
        ("prometheus: {url: 'http://tokenonly@prom:9090'}", "prometheus.url", "basic_auth_env"),
        ("target: {url: 'https://u:S3CRETPASS@svc:8000'}", "target.url", '"$TARGET_URL"'),
        (
            "target: {url: 'http://svc', metrics_url: 'http://u:S3CRETPASS@svc:9/metrics'}",
            "target.metrics_url",
            "environment variable",
        ),
    ],
)
def test_a_spec_url_with_credentials_is_refused(block: str, field: str, named: str) -> None:
    error = _error(f"{block}\n{SLO}")
    assert error.field == field and error.line == 2, str(error)
    assert named in str(error) and "secrets never go in the spec" in str(error)
    assert "S3CRETPASS" not in str(error) and "***@" in str(error)


def test_an_invalid_url_with_a_password_is_not_echoed() -> None:
    error = _error(f"prometheus: {{url: 'http://u:S3CRETPASS@prom:notaport'}}\n{SLO}")
    assert error.field == "prometheus.url" and "expected an http" in str(error)
    assert "S3CRETPASS" not in str(error)


def test_bounds_inside_are_accepted() -> None:
    loaded = parse_spec(
        "version: 1\nload: {duration: 7d, warmup: 0s, users: 10000, rate: 1000000}\n"
        "prometheus: {timeout: 10m, scrape_interval: 100ms, headers: {X-Scope-OrgID: 'a\\tb'}}\n"
        "slos:\n"
        "  - {name: a, sli: availability, objective: 100%}\n"
        "  - {name: b, sli: error_ratio, threshold: 0%}\n"
        "  - {name: c, sli: error_ratio, threshold: 99.9%}\n"
        "  - {name: d, sli: throughput, threshold: 0.1}\n"
        "  - {name: e, sli: latency, percentile: 99, threshold: 24h}\n"
    )
    assert loaded.spec.load.duration == 7 * 86400 and loaded.spec.prometheus.timeout == 600
