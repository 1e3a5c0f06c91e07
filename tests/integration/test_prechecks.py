"""Checks before the load, with real processes (issue 25): ``run --with-rules`` loads its rules
with the default relative ``--out``, a rules file Prometheus refuses and a Prometheus URL that
is closed or not a Prometheus end the run (exit 3) before any load, a missing file is named
before anything starts (exit 2), ``validate --probe`` warns of an SLO's missing metric,
``capacity --budget`` shorter than a step is exit 2, and the compact example passes.

"No load sent" is shown by evidence, not by a clock: no ``load/`` folder (Locust never
started) and the service's request counter unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, free_port, parse_metrics, run_cli

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary"
)


def cli_in(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m slocheck ARGS`` run from ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "slocheck", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def only_report(cwd: Path) -> dict[str, Any]:
    """The report.json of the one run under ``cwd/slocheck-results``."""
    reports = list((cwd / "slocheck-results").glob("*/report.json"))
    assert len(reports) == 1, reports
    report: dict[str, Any] = json.loads(reports[0].read_text())
    return report


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``slocheck serve``."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with ServerProcess(log_path=log) as srv:
        yield srv


def requests_served(srv: ServerProcess) -> float:
    """The inference requests the service counted (a probe of /api/v1/query is no load)."""
    samples = parse_metrics(srv.metrics())
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "http_requests_total" and dict(labels).get("endpoint", "").startswith("/v1/")
    )


@needs_prometheus
def test_run_with_rules_and_the_default_relative_out_fires_the_burn_alerts(
    tmp_path: Path,
) -> None:
    # no --out: slocheck-results/<stamp> under the current folder, a relative path
    result = cli_in(tmp_path, "run", "--slo", str(EXAMPLES / "slos-faulty.yaml"), "--with-rules")
    assert result.returncode == 1, result.stdout + result.stderr
    fired = {
        (a["alertname"], a["labels"]["severity"])
        for a in only_report(tmp_path)["alerts"]
        if a["firing_at"] is not None and a["firing_in_window_s"] > 0
    }
    assert ("AvailabilityErrorBudgetBurn", "page") in fired, fired
    assert ("ErrorRatioErrorBudgetBurn", "page") in fired, fired
    assert "no production alert went pending or fired" not in result.stdout


@needs_prometheus
def test_a_rules_file_prometheus_refuses_exits_3_before_any_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import slocheck.workflows.run as run_module
    from slocheck.cli import main

    def refused(loaded: object, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "prometheus-rules.yml"
        path.write_text(
            "groups:\n  - name: broken\n    rules:\n      - record: x\n        expr: 'sum(('\n"
        )
        return path

    loads: list[object] = []
    monkeypatch.setattr(run_module, "write_rules", refused)
    monkeypatch.setattr(run_module, "run_load", lambda *a, **k: loads.append(a))
    out = tmp_path / "out"
    faulty = str(EXAMPLES / "slos-faulty.yaml")
    code = main(["run", "--slo", faulty, "--with-rules", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "prometheus refused the rules in" in err and "prometheus-rules.yml" in err
    assert "promtool check rules" in err
    assert loads == []  # the load never started
    assert not (out / "load").exists()


def test_a_closed_prometheus_port_exits_3_with_no_load_sent(
    service: ServerProcess, tmp_path: Path
) -> None:
    before = requests_served(service)
    out = tmp_path / "out"
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_cli(
        [
            "run",
            "--slo",
            str(EXAMPLES / "slos.yaml"),
            "--target-url",
            service.url,
            "--prometheus-url",
            closed,
            "--out",
            str(out),
        ],
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"cannot reach Prometheus at {closed}" in result.stderr
    assert not (out / "load").exists()  # Locust never started
    assert requests_served(service) == before  # not one request sent


def test_the_service_port_as_prometheus_exits_3_naming_not_a_prometheus(
    service: ServerProcess, tmp_path: Path
) -> None:
    before = requests_served(service)
    out = tmp_path / "out"
    result = run_cli(
        [
            "run",
            "--slo",
            str(EXAMPLES / "slos.yaml"),
            "--target-url",
            service.url,
            "--prometheus-url",
            service.url,
            "--out",
            str(out),
        ],
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "this is not a Prometheus: /api/v1/query answered 404" in result.stderr
    assert not (out / "load").exists()
    assert requests_served(service) == before


def test_a_missing_payload_is_exit_2_before_anything_starts(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "slos.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "version: 1\n"
        "target: {url: 'http://127.0.0.1:9', api: http}\n"
        "load: {payload: body.json}\n"
        "slos:\n  - {name: p95, sli: latency, percentile: 95, threshold: 1s}\n"
    )
    out = tmp_path / "out"
    result = cli_in(tmp_path, "run", "--slo", str(spec), "--out", str(out), timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "load.payload: 'body.json' does not exist" in result.stderr
    assert str(tmp_path / "specs" / "body.json") in result.stderr
    assert "waiting for" not in result.stderr + result.stdout  # no target waited for
    assert not (out / "load").exists()
    # validate --probe finds it too, with no load
    probe = cli_in(tmp_path, "validate", "--slo", str(spec), "--probe", timeout=60)
    assert probe.returncode == 2 and "load.payload" in probe.stderr


def test_validate_probe_warns_of_a_missing_metric_with_close_matches(
    service: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(
        "version: 1\n"
        f"target: {{url: '{service.url}'}}\n"
        "slos:\n"
        "  - {name: p95, sli: latency, percentile: 95, threshold: 1s, "
        "metric: http_request_duraton_seconds}\n"
        "  - {name: availability, sli: availability, objective: 99%}\n"
    )
    result = run_cli(["validate", "--slo", str(spec), "--probe"], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SLO p95: no metric http_request_duraton_seconds_bucket on" in result.stderr
    assert "close matches: http_request_duration_seconds_bucket" in result.stderr
    assert "SLO availability" not in result.stderr  # its counter is there


def test_validate_probe_exits_3_when_prometheus_url_is_not_a_prometheus(
    service: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(
        f"version: 1\nprometheus: {{url: '{service.url}'}}\n"
        "slos:\n  - {name: availability, sli: availability, objective: 99%}\n"
    )
    result = run_cli(["validate", "--slo", str(spec), "--probe"], timeout=60)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "this is not a Prometheus" in result.stderr


def test_capacity_with_a_budget_shorter_than_a_step_is_exit_2_naming_the_smallest(
    tmp_path: Path,
) -> None:
    out = tmp_path / "cap"
    result = run_cli(
        ["capacity", "--slo", str(EXAMPLES / "slos.yaml"), "--budget", "20s", "--out", str(out)]
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--budget 20s is shorter than one step" in result.stderr
    assert "give --budget 45s or more" in result.stderr
    assert not (out / "steps").exists()


@needs_prometheus
def test_the_compact_example_decides_and_passes(tmp_path: Path) -> None:
    result = cli_in(tmp_path, "run", "--slo", str(EXAMPLES / "slos-compact.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    report = only_report(tmp_path)
    assert report["verdict"] == "pass"
    assert [s["verdict"] for s in report["slos"]] == ["pass", "pass", "pass"]


@needs_prometheus
def test_the_managed_prometheus_loads_a_relative_rules_file_and_lists_its_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slocheck.prom.managed import ManagedPrometheus, loaded_groups

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yml").write_text(
        "groups:\n"
        "  - name: first\n    rules: [{record: 'a:one', expr: 'vector(1)'}]\n"
        "  - name: second\n    rules: [{record: 'b:two', expr: 'vector(2)'}]\n"
    )
    monkeypatch.chdir(tmp_path)
    with ManagedPrometheus(rule_files=["rules/r.yml"]) as prom:
        assert prom.rule_files == [str(tmp_path / "rules" / "r.yml")]
        # start() returned only once every group was listed
        assert loaded_groups(prom.url) >= {"first", "second"}
