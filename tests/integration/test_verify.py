"""``slocheck verify`` against a real Prometheus over a backfilled TSDB of known data."""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pytest

from slocheck.prom import HttpPromClient, ManagedPrometheus
from tests.helpers import free_port, run_cli
from tests.integration.backfill_data import Dataset

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="needs the prometheus and promtool binaries (scripts/setup.sh)",
)

SPEC = """\
version: 1
service: {{name: demo}}
prometheus:
  selector: {selector}
  scrape_interval: 15s
slos:
  - {{name: availability-999, sli: availability, objective: 99.9%}}
  - {{name: availability-99, sli: availability, objective: 99%}}
  - {{name: p95-1s, sli: latency, percentile: 95, threshold: 1s}}
  - {{name: p95-300ms, sli: latency, percentile: 95, threshold: 300ms}}
  - {{name: error-ratio, sli: error_ratio, threshold: 1%}}
  - {{name: within-250ms, sli: latency_ratio, threshold: 250ms, objective: 90%}}
  - {{name: throughput, sli: throughput, threshold: 50}}
  - name: promql-count
    sli: promql
    query: 'sum(increase(http_requests_total{{{selector}}}[$window]))'
    op: ">"
    threshold: 1000
"""


def verify(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset, spec: str, *extra: str
) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    path = tmp_path / "slos.yaml"
    path.write_text(spec)
    out = tmp_path / "report.json"
    result = run_cli(
        [
            "verify",
            "--slo",
            str(path),
            "--prometheus-url",
            prom.url,
            "--start",
            str(data.start),
            "--end",
            str(data.end),
            "--json",
            str(out),
            *extra,
        ],
        timeout=60,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.returncode, report, result.stdout + result.stderr


def by_name(report: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {s["name"]: s for s in report["slos"]}


def test_verdicts_values_and_exit_code(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    code, report, output = verify(tmp_path, prom, data, SPEC.format(selector='job="demo"'))
    assert code == 1, output  # availability 99.9% fails
    slos = by_name(report)
    verdicts = {name: s["verdict"] for name, s in slos.items()}
    assert verdicts == {
        "availability-999": "fail",
        "availability-99": "pass",
        "p95-1s": "pass",
        "p95-300ms": "inconclusive",
        "error-ratio": "pass",
        "within-250ms": "pass",
        "throughput": "pass",
        "promql-count": "pass",
    }
    # exact counts, through instance b's counter reset, with no increase() extrapolation
    avail = slos["availability-99"]
    assert avail["samples"] == data.requests_in_window == 128_000
    assert avail["value"] == pytest.approx(
        1 - data.errors_in_window / data.requests_in_window, abs=1e-12
    )
    assert any("reset" in n for n in avail["details"]["notes"])
    p95 = slos["p95-300ms"]
    assert (p95["details"]["bucket_lower"], p95["details"]["bucket_upper"]) == (0.25, 0.5)
    assert "(250ms, 500ms]" in p95["explanation"]
    assert slos["throughput"]["value"] == pytest.approx(128_000 / 2400)
    assert slos["within-250ms"]["value"] == pytest.approx(0.94)
    assert slos["promql-count"]["value"] == pytest.approx(128_000)
    for s in slos.values():  # every verdict shows its query, value, threshold and samples
        assert s["query"] and s["promql"] and s["explanation"]
        assert s["value"] is not None and s["threshold"] is not None


def test_passing_spec_exits_0(tmp_path: Path, prom: ManagedPrometheus, data: Dataset) -> None:
    spec = SPEC.format(selector='job="demo"').split("  - {name: availability-999")[0] + (
        "  - {name: availability-99, sli: availability, objective: 99%}\n"
        "  - {name: p95-1s, sli: latency, percentile: 95, threshold: 1s}\n"
    )
    code, report, output = verify(tmp_path, prom, data, spec)
    assert code == 0, output
    assert report["verdict"] == "pass"


def test_series_of_another_job_change_nothing(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    _, scoped, _ = verify(tmp_path, prom, data, SPEC.format(selector='job="demo"'))
    _, everything, _ = verify(tmp_path, prom, data, SPEC.format(selector='job=~".+"'))
    a, b = by_name(scoped), by_name(everything)
    assert a["availability-99"]["value"] == pytest.approx(0.995)
    # the awful job really is in the TSDB: without the selector the values change a lot
    assert b["availability-99"]["value"] < 0.8
    assert b["p95-1s"]["verdict"] == "fail"


def test_metric_without_series_is_no_data_and_exit_1(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    spec = (
        "version: 1\nprometheus: {selector: 'job=\"demo\"'}\nslos:\n"
        "  - {name: ghost, sli: availability, objective: 99%, metric: no_such_metric_total}\n"
    )
    code, report, output = verify(tmp_path, prom, data, spec)
    assert code == 1, output
    assert by_name(report)["ghost"]["verdict"] == "no_data"
    assert "no series matched no_such_metric_total" in output


def test_bad_promql_exits_2(tmp_path: Path, prom: ManagedPrometheus, data: Dataset) -> None:
    spec = (
        "version: 1\nslos:\n  - {name: broken, sli: promql, query: 'sum(rate(x[', op: '<', "
        "threshold: 1}\n"
    )
    code, _, output = verify(tmp_path, prom, data, spec)
    assert code == 2 and "refused the query" in output and "Traceback" not in output


def test_broken_spec_exits_2_naming_line_and_field(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    spec = SPEC.format(selector='job="demo"').replace("threshold: 300ms", "threshold: fast")
    code, _, output = verify(tmp_path, prom, data, spec)
    assert code == 2
    assert 'slos.yaml:10: slos[3].threshold: expected a duration like 500ms, got "fast"' in output
    validate = run_cli(["validate", "--slo", str(tmp_path / "slos.yaml")])
    assert validate.returncode == 2 and "slos[3].threshold" in validate.stderr


def test_validate_prints_the_promql(tmp_path: Path) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(SPEC.format(selector='job="demo"'))
    result = run_cli(["validate", "--slo", str(path)])
    assert result.returncode == 0
    assert (
        "histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket"
        '{job="demo"}[$window])))'
    ) in result.stdout


def test_validate_prints_a_presets_promql() -> None:
    """``preset: vllm``: every SLO's PromQL is over vLLM's own names, the preset's notes shown."""
    spec = Path(__file__).parents[2] / "examples" / "vllm.yaml"
    result = run_cli(["validate", "--slo", str(spec)])
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # rich wraps long lines
    for name in (
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:inter_token_latency_seconds_bucket",
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:generation_tokens_total",
    ):
        assert f'{name}{{job="vllm"}}' in out, name
    assert 'status=~"5xx"' in out and "preset vllm" in out
    assert "source both" in out and "client: exact HDR histogram of time to first token" in out


def test_unreachable_prometheus_exits_3_without_secrets(
    tmp_path: Path, data: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROM_TOKEN", "tok-SECRET-123")
    port = free_port()
    spec = (
        "version: 1\nprometheus:\n  bearer_token_env: PROM_TOKEN\n  timeout: 2s\n  retries: 2\n"
        "slos:\n  - {name: a, sli: availability, objective: 99%}\n"
    )
    path = tmp_path / "slos.yaml"
    path.write_text(spec)
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    result = run_cli(
        [
            "verify",
            "--slo",
            str(path),
            "--prometheus-url",
            url,
            "--start",
            "now-10m",
            "--json",
            str(tmp_path / "r.json"),
        ],
        timeout=60,
    )
    assert result.returncode == 3
    assert time.monotonic() - started < 55  # a hang guard (run_cli's own timeout is 60 s)
    assert f"cannot reach Prometheus at {url}" in result.stderr
    assert "tok-SECRET-123" not in result.stdout + result.stderr


def test_blackholed_prometheus_times_out_with_exit_3(tmp_path: Path) -> None:
    """A listener that never answers: the timeout holds, no hang."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        spec = (
            "version: 1\nprometheus: {timeout: 1s, retries: 1}\nslos:\n"
            "  - {name: a, sli: availability, objective: 99%}\n"
        )
        path = tmp_path / "slos.yaml"
        path.write_text(spec)
        started = time.monotonic()
        result = run_cli(
            ["verify", "--slo", str(path), "--prometheus-url", url, "--start", "now-10m"],
            timeout=60,
        )
    assert result.returncode == 3, result.stderr
    assert "timed out" in result.stderr
    assert time.monotonic() - started < 55  # a hang guard: 1 s timeout, 2 tries per query


def test_a_histogram_in_milliseconds_with_unit_ms(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    """``app_latency_ms`` holds the same observations as the seconds histogram, with its bounds
    written in milliseconds: with ``unit: ms`` every verdict and bound is the same, in seconds."""
    spec = (
        "version: 1\nprometheus: {selector: 'job=\"demo\"'}\nslos:\n"
        "  - {name: p95-1s, sli: latency, percentile: 95, threshold: 1s, metric: app_latency_ms,"
        " unit: ms}\n"
        "  - {name: p95-300ms, sli: latency, percentile: 95, threshold: 300ms,"
        " metric: app_latency_ms, unit: ms}\n"
        "  - {name: within-250ms, sli: latency_ratio, threshold: 250ms, objective: 93%,"
        " metric: app_latency_ms, unit: ms}\n"
    )
    code, report, output = verify(tmp_path, prom, data, spec)
    assert code == 1, output  # p95-300ms cannot be told: inconclusive fails the gate
    slos = by_name(report)
    assert {n: s["verdict"] for n, s in slos.items()} == {
        "p95-1s": "pass",
        "p95-300ms": "inconclusive",
        "within-250ms": "pass",
    }
    p95 = slos["p95-300ms"]
    assert (p95["details"]["bucket_lower"], p95["details"]["bucket_upper"]) == (0.25, 0.5)
    assert "(250ms, 500ms]" in p95["explanation"] and p95["promql"].endswith("* 0.001")
    assert slos["within-250ms"]["value"] == pytest.approx(0.94)
    # the PromQL shown runs as it is and reads the same buckets (le="250" or "250.0")
    shown = slos["within-250ms"]["promql"]
    assert list(HttpPromClient(prom.url).instant(shown, data.end)) == [
        pytest.approx(0.94, abs=0.005)
    ]


def test_ratio_counts_like_the_built_ins_and_an_absent_error_counter_is_zero(
    tmp_path: Path, prom: ManagedPrometheus, data: Dataset
) -> None:
    spec = (
        "version: 1\nprometheus: {selector: 'job=\"demo\"'}\nslos:\n"
        "  - {name: bad-500, sli: ratio, objective: 99%,"
        " bad: 'http_requests_total{status=\"500\"}', total: http_requests_total}\n"
        "  - {name: good-200, sli: ratio, objective: 99%,"
        " good: 'http_requests_total{status=\"200\"}', total: http_requests_total}\n"
        "  - {name: no-errors-yet, sli: ratio, objective: 99.9%,"
        " bad: app_errors_total, total: http_requests_total}\n"
    )
    code, report, output = verify(tmp_path, prom, data, spec)
    assert code == 0, output
    slos = by_name(report)
    expected = 1 - data.errors_in_window / data.requests_in_window
    for name in ("bad-500", "good-200"):  # exact, through instance b's reset, as availability
        assert slos[name]["verdict"] == "pass"
        assert slos[name]["samples"] == data.requests_in_window
        assert slos[name]["value"] == pytest.approx(expected, abs=1e-12)
    # no app_errors_total series at all: 0 errors (said so), not an empty vector
    empty = slos["no-errors-yet"]
    assert empty["verdict"] == "pass" and empty["value"] == 1.0
    assert any("counted as 0" in n for n in empty["details"]["notes"])
    assert "or vector(0)" in empty["promql"]
