"""``slocheck run`` end to end: embedded service, managed Prometheus, Locust, reports."""

from __future__ import annotations

import json
import shutil
import signal
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import children_of, load_running_for, run_cli, start_cli, still_running

EXAMPLES = Path(__file__).parents[2] / "examples"
pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
SHORT = ["--duration", "6s", "--warmup", "2s"]


def run(tmp_path: Path, spec: str | Path, *extra: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    out = tmp_path / "out"
    result = run_cli(["run", "--slo", str(spec), "--out", str(out), *SHORT, *extra], timeout=180)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result.returncode, report, result.stdout + result.stderr


def test_embedded_default_passes_with_exact_counts(tmp_path: Path) -> None:
    started = time.monotonic()
    code, report, output = run(tmp_path, EXAMPLES / "slos.yaml", "--users", "8")
    elapsed = time.monotonic() - started
    assert code == 0, output
    assert report["verdict"] == "pass" and report["kind"] == "run"
    assert {s["verdict"] for s in report["slos"]} == {"pass"}
    checks = {c["name"]: c for c in report["cross_checks"]}
    assert checks["request_counts"]["ok"], checks["request_counts"]["message"]
    compared = checks["request_counts"]["details"]["compared"]["/v1/classify"]
    assert compared[0] == compared[1] > 0  # client == server, exactly
    assert checks["achieved_load"]["ok"]
    assert elapsed < 8 + 60  # well under a minute beyond the load
    out = tmp_path / "out"
    suite = ET.parse(out / "junit.xml").getroot()
    assert [c.get("name") for c in suite.findall("testcase")] == [s["name"] for s in report["slos"]]
    html = (out / "report.html").read_text()
    assert html.count("<svg") == 2 and "<script" not in html
    assert report["timeline"] and report["client"]["window"]["/v1/classify"]["count"] > 0
    assert "ttft" in report["client"]["window"]  # the streaming users measured TTFT


def test_faulty_service_fails_availability_and_latency(tmp_path: Path) -> None:
    code, report, output = run(tmp_path, EXAMPLES / "slos-faulty.yaml")
    assert code == 1, output
    slos = {s["name"]: s for s in report["slos"]}
    assert slos["availability"]["verdict"] == "fail" and slos["availability"]["value"] < 0.99
    assert slos["p95-latency"]["verdict"] == "fail" and slos["p95-latency"]["value"] > 0.25
    assert "availability" in output and "%" in output


def test_compact_form_with_injected_errors_fails(tmp_path: Path) -> None:
    code, report, output = run(tmp_path, EXAMPLES / "slos-compact-faults.yaml")
    assert code == 1, output
    assert {s["name"]: s["verdict"] for s in report["slos"]}["availability"] == "fail"


def test_less_load_than_asked_for_is_inconclusive(tmp_path: Path) -> None:
    code, report, output = run(tmp_path, EXAMPLES / "slos.yaml", "--users", "2", "--rate", "100000")
    assert code == 1, output
    assert report["verdict"] == "inconclusive"
    assert not {c["name"]: c for c in report["cross_checks"]}["achieved_load"]["ok"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything_and_writes_a_partial_report(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    proc = start_cli(
        [
            "run",
            "--slo",
            str(EXAMPLES / "slos.yaml"),
            "--out",
            str(out),
            "--duration",
            "60s",
            "--warmup",
            "1s",
            "--users",
            "4",
        ]
    )
    children: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the load is well into its window
        children |= children_of(proc.pid)
        if len(children) >= 3 and load_running_for(out, 5):
            break
        time.sleep(0.5)
    assert len(children) >= 3, "service, Prometheus and Locust should be running"
    proc.send_signal(sig)
    output = proc.communicate(timeout=60)[0].decode(errors="replace")
    assert proc.returncode == 130, output
    time.sleep(0.5)
    assert still_running(children) == set(), "a child process outlived slocheck"
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and report["verdict"] == "interrupted"
    assert report["slos"], "the partial window is judged"


def test_bench_repeats_runs_into_the_history_and_shows_the_noise(tmp_path: Path) -> None:
    from slocheck.store.history import History

    spec = tmp_path / "bench.yaml"
    spec.write_text(
        "version: 1\nservice: {model: classifier}\n"
        "load: {users: 4, rate: 40, duration: 2s, warmup: 1s}\n"
        "slos: [{name: availability, sli: availability, objective: 90%}]\n"
    )
    history = tmp_path / "h.sqlite"
    result = run_cli(
        [
            "bench",
            "--slo",
            str(spec),
            "--repeat",
            "2",
            "--history",
            str(history),
            "--out",
            str(tmp_path / "bench"),
            "--duration",
            "3s",
        ],
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run 1/2" in result.stdout and "run 2/2" in result.stdout
    assert "noise over 2 runs" in result.stdout and "p95_s" in result.stdout
    with History(str(history)) as store:
        records = store.runs()
    assert len(records) == 2
    assert all(r.requests > 50 for r in records)  # 40 requests/s over a 3 s window
