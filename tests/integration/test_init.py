"""``slocheck init`` against real servers (issue 25's "must show"): the embedded reference
service (``slocheck serve``), MLServer and llama-server. Each spec init writes must pass
``validate`` and then ``run`` against the healthy server it was written for.

Why at any speed: the rate init writes is half of what one connection sent in its probe,
measured on this machine a moment before (capped at 50/s), and the SLOs are chosen so that
rate x duration decides them; the thresholds are loose multiples of the probe's P95 (with a
floor), so a healthy server passes. A machine too slow to send 90% of the rate gets
achieved_load, inconclusive: the output says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers import ServerProcess, run_cli, run_spec
from tests.integration.servers import IRIS_BODY, RunningServer

pytestmark = [
    pytest.mark.skipif(
        shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
    ),
    pytest.mark.timeout(1500),  # a fresh machine may still be building llama-server
]


def _init(tmp_path: Path, *args: str) -> dict[str, object]:
    out = tmp_path / "slos.yaml"
    result = run_cli(["init", "--out", str(out), *args], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = run_cli(["validate", "--slo", str(out)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    data: dict[str, object] = yaml.safe_load(out.read_text())
    return data


def _passes(tmp_path: Path) -> dict[str, object]:
    code, report, output = run_spec(tmp_path, (tmp_path / "slos.yaml").read_text())
    verdicts = {s["name"]: s["verdict"] for s in report.get("slos", [])}
    assert verdicts and set(verdicts.values()) == {"pass"}, output
    assert code == 0, output
    return report


def test_init_against_the_embedded_service_writes_a_spec_that_passes(tmp_path: Path) -> None:
    with ServerProcess(log_path=tmp_path / "serve.log") as server:
        spec = _init(tmp_path, "--target-url", server.url, "--duration", "15s")
        assert spec["prometheus"]["preset"] == "slocheck"  # type: ignore[index]
        assert spec["target"]["api"] == "slocheck"  # type: ignore[index]
        report = _passes(tmp_path)
    assert {s["name"] for s in report["slos"]} == {"availability", "p95-latency"}  # type: ignore[attr-defined]
    checks = {c["name"]: c for c in report["cross_checks"]}  # type: ignore[attr-defined]
    assert checks["request_counts"]["ok"], checks["request_counts"]


def test_init_against_mlserver_recognises_it_and_the_spec_passes(
    tmp_path: Path, mlserver_server: RunningServer
) -> None:
    payload = tmp_path / "iris.jsonl"
    payload.write_text(json.dumps(IRIS_BODY) + "\n")
    spec = _init(
        tmp_path,
        *("--target-url", mlserver_server.url),
        *("--metrics-url", mlserver_server.metrics_url),
        *("--payload", str(payload), "--duration", "15s"),
    )
    assert spec["prometheus"]["preset"] == "mlserver"  # type: ignore[index]
    target = spec["target"]
    assert target["api"] == "kserve-v2" and target["model"] == mlserver_server.model  # type: ignore[index]
    assert spec["load"]["payload"] == "iris.jsonl"  # type: ignore[index]
    report = _passes(tmp_path)
    slos = {s["name"]: s for s in report["slos"]}  # type: ignore[attr-defined]
    assert "rest_server_requests_total" in slos["availability"]["promql"]


def test_init_against_llama_server_recognises_it_and_the_spec_passes(
    tmp_path: Path, llama_server: RunningServer
) -> None:
    spec = _init(
        tmp_path, "--target-url", llama_server.url, "--duration", "20s", "--probe-requests", "8"
    )
    assert spec["prometheus"]["preset"] == "llamacpp"  # type: ignore[index]
    target = spec["target"]
    assert target["api"] == "openai" and target["model"]  # type: ignore[index]
    assert {s["sli"] for s in spec["slos"]} >= {"availability", "latency", "ttft"}  # type: ignore[attr-defined]
    report = _passes(tmp_path)
    slos = {s["name"]: s for s in report["slos"]}  # type: ignore[attr-defined]
    assert slos["availability"]["details"]["source"] == "client"


def test_init_refuses_to_overwrite_and_needs_a_payload_for_kserve(
    tmp_path: Path, mlserver_server: RunningServer
) -> None:
    out = tmp_path / "slos.yaml"
    out.write_text("mine\n")
    kept = run_cli(["init", "--out", str(out)])
    assert kept.returncode == 2 and "--force" in kept.stderr
    assert out.read_text() == "mine\n"
    no_payload = run_cli(
        ["init", "--out", str(tmp_path / "x.yaml"), "--target-url", mlserver_server.url]
    )
    assert no_payload.returncode == 2 and "--payload" in no_payload.stderr, no_payload.stderr
    assert not (tmp_path / "x.yaml").exists()
