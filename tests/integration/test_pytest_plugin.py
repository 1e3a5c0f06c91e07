"""The pytest plugin (slocheck.pytest_plugin, entry point ``pytest11``), from the outside: inner
test suites run in a fresh pytest process by ``pytester``, the plugin loaded from the installed
package, gating the embedded service with real load and a real Prometheus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from slocheck.load.stopping import PAUSE_AT, PAUSE_FILE
from tests.helpers import STOP_GUARD_S, all_gone, children_of, free_port, load_running_for

pytest_plugins = ["pytester"]

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

# Why the outcomes hold at any machine speed. 4 users at a fixed 50 requests/s for 10 s plan
# ~500 classify requests in the window, a few percent of what the embedded service serves even
# with a core busy. Without faults none fails, and 99% availability is proved from 380 requests
# without an error (the Wilson interval's lower end); P95 needs 200 observations and 2 s is far
# above any answer. With 20% of answers failing (fixed seed), availability lies near 80%:
# even 50 requests would put the whole 95% interval below 99%. A machine too slow to send 90%
# of the rate would make the gate inconclusive (achieved_load, said so), never a pass.
SPEC = """\
version: 1
service:
  name: pytest-gate
  model: classifier
{faults}
prometheus:
  selector: 'job="slocheck", endpoint="/v1/classify"'
  scrape_interval: 1s
load: {{scenario: steady, users: 4, rate: 50, duration: 10s, warmup: 1s}}
slos:
  - {{name: availability, sli: availability, objective: 99%}}
  - {{name: p95-latency, sli: latency, percentile: 95, threshold: 2s}}
"""
FAULTS = "  faults: {error_rate: 20%, seed: 7}"

INNER = """\
import json

import pytest


def test_healthy_service_passes(slocheck):
    # the spec from --slo; no target URL: the embedded stack
    result = slocheck.run()
    slocheck.assert_passed(result)
    assert [r.verdict for r in result.verify.results] == ["pass", "pass"]
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["verdict"] == "pass"


@pytest.mark.slo("faulty.yaml", duration="10s", arrival="open")
def test_service_injecting_errors_fails(slocheck):
    result = slocheck.run()
    assert result.load.config.open_loop  # the plugin takes every option of slocheck run
    assert result.verdict == "fail"
    slocheck.assert_passed(result)
"""


@needs_prometheus
def test_the_plugin_gates_the_embedded_service(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", slos=SPEC.format(faults=""), faulty=SPEC.format(faults=FAULTS))
    pytester.makepyfile(test_gate=INNER)
    reports = pytester.path / "reports"
    junit = pytester.path / "junit.xml"
    # the timeout only guards against a hang; it is no bound on the machine's speed
    inner = pytester.runpytest_subprocess(
        "--slo",
        "slos.yaml",
        "--slocheck-out",
        str(reports),
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        timeout=280,
    )
    output = inner.stdout.str()
    inner.assert_outcomes(passed=1, failed=1)
    # the failed assertion is the verdict table, naming the availability SLO
    failure = output[output.index("test_service_injecting_errors_fails") :]
    assert "AssertionError: slocheck: FAIL" in failure, output
    row = next(line for line in failure.splitlines() if "availability  availability" in line)
    assert " fail " in row and ">= 99%" in row, row
    assert "misses the objective at least 99%" in failure, output
    assert "slocheck gates" in output  # the terminal summary names both gates

    # pytest's JUnit: the tests, each with one property per SLO
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"test_healthy_service_passes", "test_service_injecting_errors_fails"}
    for name, verdicts in (
        ("test_healthy_service_passes", {"pass"}),
        ("test_service_injecting_errors_fails", {"fail", "pass"}),
    ):
        props = {p.get("name", ""): p.get("value", "") for p in cases[name].iter("property")}
        slos = {k: v for k, v in props.items() if k.startswith("slo:")}
        assert set(slos) == {"slo:availability", "slo:p95-latency"}, props
        assert {v.split(":")[0] for v in slos.values()} == verdicts, props
    assert cases["test_service_injecting_errors_fails"].find("failure") is not None
    failed = {
        p.get("name", ""): p.get("value", "")
        for p in cases["test_service_injecting_errors_fails"].iter("property")
    }
    assert failed["slo:availability"].startswith("fail: ") and failed["slocheck:verdict"] == "fail"

    # the gate's own junit.xml: one testcase per SLO, the failing one a <failure>
    folder = reports / "test_gate.py_test_service_injecting_errors_fails" / "run-1"
    for name in ("report.json", "junit.xml", "summary.md", "report.html"):
        assert (folder / name).is_file(), name
    gate = ET.parse(folder / "junit.xml").getroot()
    gate_cases = {c.get("name"): c for c in gate.findall("testcase")}
    assert list(gate_cases) == ["availability", "p95-latency"]
    assert gate_cases["availability"].find("failure") is not None
    assert gate_cases["p95-latency"].find("failure") is None


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@needs_prometheus
def test_a_stop_while_the_reports_are_written_waits_for_them_then_ends_the_session(
    pytester: pytest.Pytester,
) -> None:
    """SIGTERM (a CI job cancelled) in the middle of writing a gate's reports is noted: every
    report is written, with the gate's own verdict, and then the session stops (exit 2), the
    next test never run. The gate is held at that point by the test hook, whatever the speed."""
    pytester.makefile(".yaml", slos=SPEC.format(faults="").replace("10s", "3s"))
    pytester.makepyfile(
        test_short="""
import pytest

@pytest.mark.slo("slos.yaml")
def test_short(slocheck):
    slocheck.run()

def test_never_reached():
    pass
"""
    )
    reports, pause = pytester.path / "reports", pytester.path / "pause"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--slocheck-out", str(reports)],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, PAUSE_AT: "reports", PAUSE_FILE: str(pause)},
        preexec_fn=_sigint_default,  # noqa: PLW1509
    )
    marker = pause.with_name("pause.reports")
    deadline = time.monotonic() + 180  # a hang guard; the loop ends on the condition
    while time.monotonic() < deadline and not marker.exists() and proc.poll() is None:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate()[0].decode(errors="replace")
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=STOP_GUARD_S)[0].decode(errors="replace")
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output and "test_never_reached" not in output, output
    out = reports / "test_short.py_test_short" / "run-1"
    for name in ("report.json", "junit.xml", "summary.md", "report.html"):
        assert (out / name).is_file(), f"{name} is missing: {sorted(out.iterdir())}"
    report = json.loads((out / "report.json").read_text())
    # the gate's own verdict (3 s are too few requests for its P95: fail, never a pass)
    assert report["verdict"] == "fail" and report["interrupted"] is False, report["verdict"]


@needs_prometheus
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_the_gate_writes_its_reports_and_the_session(
    pytester: pytest.Pytester, sig: signal.Signals
) -> None:
    pytester.makefile(".yaml", slos=SPEC.format(faults=""))
    pytester.makepyfile(
        test_long="""
import pytest

@pytest.mark.slo("slos.yaml", duration="120s")
def test_long(slocheck):
    slocheck.run()

def test_never_reached():
    pass
"""
    )
    reports = pytester.path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--slocheck-out", str(reports)],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # Ctrl-C reaches a pytest started in a terminal; a suite started as a background job
        # (`cmd &`) hands its children SIGINT ignored, and the plugin leaves an ignored signal
        # ignored, as a library should: the child starts as it would from a terminal
        preexec_fn=_sigint_default,  # noqa: PLW1509
    )
    out = reports / "test_long.py_test_long" / "run-1"
    children: set[int] = set()
    deadline = time.monotonic() + 120  # a hang guard; the loop ends on the condition
    while time.monotonic() < deadline and not (len(children) >= 3 and load_running_for(out, 3)):
        children |= children_of(proc.pid)
        time.sleep(0.5)
    assert len(children) >= 3, "service, Prometheus and Locust should be running"
    proc.send_signal(sig)
    output = proc.communicate(timeout=STOP_GUARD_S)[0].decode(errors="replace")
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output and "no tests ran" in output, output
    assert all_gone(children) == set(), "a child process outlived the test session"
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "interrupted" and report["interrupted"] is True


def test_a_broken_setting_is_a_test_error_not_a_failure(pytester: pytest.Pytester) -> None:
    # a target that never answers: slocheck's InfrastructureError, before any load
    port = free_port()
    pytester.makefile(
        ".yaml",
        slos=f"""\
version: 1
target: {{url: "http://127.0.0.1:{port}", ready_timeout: 1s}}
slos:
  - {{name: availability, sli: availability, objective: 99%}}
""",
    )
    pytester.makepyfile(
        test_broken="""
import pytest

@pytest.mark.slo("slos.yaml")
def test_unreachable(slocheck):
    slocheck.run()

def test_bad_override(slocheck):
    slocheck.run("slos.yaml", duration="soon")
"""
    )
    inner = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    inner.assert_outcomes(errors=2)
    output = inner.stdout.str()
    assert "slocheck: ServiceStartError: " in output, output
    assert f"127.0.0.1:{port}" in output
    assert "slocheck: UsageError: slocheck.run: duration:" in output, output
    assert "AssertionError" not in output
    assert inner.ret == pytest.ExitCode.TESTS_FAILED


def test_the_entry_point_loads_the_plugin_and_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
def test_fixture(slocheck):
    assert slocheck.results == []
"""
    )
    inner = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--markers", timeout=120)
    assert "@pytest.mark.slo(spec, **overrides)" in inner.stdout.str()
    pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120).assert_outcomes(passed=1)
    off = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:slocheck", timeout=120)
    off.assert_outcomes(errors=1)
    assert "fixture 'slocheck' not found" in off.stdout.str()
