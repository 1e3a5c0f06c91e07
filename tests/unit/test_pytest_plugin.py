"""The pytest plugin's pure parts: where a gate's spec and overrides come from, the properties
it records and the text a failed gate shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slocheck.errors import UsageError
from slocheck.pytest_plugin import (
    SpecSource,
    assert_passed,
    checked_overrides,
    load,
    node_folder,
    resolve,
    slo_properties,
)

TEST_DIR = Path("/suite/tests")
INVOCATION = Path("/work")
INI_DIR = Path("/suite")
SPEC = "version: 1\nslos:\n  - {name: availability, sli: availability, objective: 99%}\n"


def resolved(spec: Any = None, marker: pytest.MarkDecorator | None = None, **kw: Any) -> Any:
    return resolve(
        spec,
        kw.pop("overrides", {}),
        marker=marker.mark if marker is not None else None,
        option=kw.pop("option", None),
        ini=kw.pop("ini", None),
        test_dir=TEST_DIR,
        invocation_dir=INVOCATION,
        ini_dir=INI_DIR,
    )


def test_the_call_then_the_marker_then_the_option_then_the_ini_name_the_spec() -> None:
    marker = pytest.mark.slo("marked.yaml")
    everything: dict[str, Any] = {"option": "opt.yaml", "ini": "ini.yaml"}
    assert resolved("call.yaml", marker, **everything).spec == SpecSource(
        path=TEST_DIR / "call.yaml", origin="call"
    )
    assert resolved(None, marker, **everything).spec == SpecSource(
        path=TEST_DIR / "marked.yaml", origin="marker"
    )
    # a marker with overrides only (no spec) leaves the spec to --slo
    only_overrides = pytest.mark.slo(duration="8s")
    assert resolved(marker=only_overrides, option="opt.yaml", ini="ini.yaml").spec == SpecSource(
        path=INVOCATION / "opt.yaml", origin="--slo"
    )
    assert resolved(ini="conf/ini.yaml").spec == SpecSource(
        path=INI_DIR / "conf/ini.yaml", origin="ini"
    )
    assert resolved("/abs/slos.yaml").spec.path == Path("/abs/slos.yaml")
    with pytest.raises(UsageError, match="no SLO spec") as info:
        resolved()
    assert "--slo FILE" in str(info.value)


def test_text_mappings_and_loaded_specs_are_specs_too() -> None:
    text = resolved(SPEC).spec
    assert text.text == SPEC and text.path is None
    mapping = resolved({"version": 1, "slos": [{"name": "a", "sli": "availability"}]}).spec
    assert mapping.text is not None and "sli: availability" in mapping.text
    spec = load(SpecSource(text=SPEC))
    assert spec.spec.slos[0].name == "availability"
    assert resolved(spec).spec.loaded is spec
    assert load(resolved(spec).spec) is spec
    with pytest.raises(UsageError, match="not int"):
        resolved(3)


def test_the_calls_overrides_replace_the_markers() -> None:
    marker = pytest.mark.slo("s.yaml", duration="8s", rate=40, users=4, warmup=1)
    got = resolved(marker=marker, overrides={"rate": 10, "users": None, "duration": 2.5})
    assert got.options == {"duration": 2.5, "rate": 10.0, "users": 4, "warmup": 1.0}
    target = resolved(
        "s.yaml", overrides={"target_url": "http://127.0.0.1:9", "with_rules": 1}
    ).options
    assert target == {"target_url": "http://127.0.0.1:9", "with_rules": True}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"durations": "8s"}, "unknown override 'durations'"),
        ({"duration": "eight"}, "duration"),
        ({"warmup": "2d"}, "warmup: expected a duration from 0 s to 86400 s"),
        ({"duration": 0}, "duration: expected a duration from 1 s to 604800 s"),
        ({"duration": "1e300w"}, "duration: expected a duration from 1 s"),
        ({"users": 0}, "users: expected a whole number from 1 to 10000"),
        ({"users": 100_000}, "users: expected a whole number from 1 to 10000"),
        ({"users": 2.5}, "whole number"),
        ({"processes": True}, "whole number"),
        ({"processes": 1000}, "processes: expected a whole number from 1 to 128"),
        ({"rate": -1}, "rate: expected a number above 0"),
        ({"rate": float("nan")}, "rate: expected a number above 0"),
        ({"rate": float("inf")}, "rate: expected a number above 0"),
        ({"rate": "40"}, "rate: expected a number above 0"),
        ({"target_url": "127.0.0.1:8000"}, "http:// or https:// URL"),
        ({"prometheus_url": "http://u:S3CRET@h:x"}, r"got 'http://\*\*\*@h:x'"),
        ({"scenario": 3}, "expected a string"),
    ],
)
def test_bad_overrides_are_usage_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        checked_overrides(overrides, "here")


def test_a_marker_takes_one_spec() -> None:
    with pytest.raises(UsageError, match="one spec"):
        resolved(marker=pytest.mark.slo("a.yaml", "b.yaml"))
    with pytest.raises(UsageError, match=r"@pytest.mark.slo: unknown override 'rat'"):
        resolved(marker=pytest.mark.slo("a.yaml", rat=4))


def test_node_folders_are_plain_names() -> None:
    assert node_folder("tests/test_x.py::test_gate[a/b c]") == "tests_test_x.py_test_gate_a_b_c"
    assert node_folder("::") == "test"
    assert len(node_folder("x" * 500)) == 150


def _result(tmp_path: Path, verdict: str, availability: float, gate: str) -> Any:
    from slocheck.evaluate.verdicts import SloResult, Window
    from slocheck.results import RunResult, VerifyResult

    slo = SloResult(
        name="availability",
        sli="availability",
        severity="critical",
        verdict=gate,  # type: ignore[arg-type]
        gate=gate,  # type: ignore[arg-type]
        value=availability,
        threshold=0.99,
        objective=0.99,
        op=">=",
        unit="ratio",
        query="q",
        promql="p",
        samples=500,
        explanation=f"availability {availability:.0%} against the objective at least 99%",
    )
    verified = VerifyResult("s.yaml", "0" * 64, "http://p", Window(0, 10, 1), [slo], gate)  # type: ignore[arg-type]
    return RunResult(
        verdict,  # type: ignore[arg-type]
        verified,
        None,  # type: ignore[arg-type]
        [],
        "http://t",
        "http://p",
        True,
        tmp_path,
        load(SpecSource(text=SPEC)),
    )


def test_a_failed_gate_asserts_with_the_verdict_table(tmp_path: Path) -> None:
    failed = _result(tmp_path, "fail", 0.8, "fail")
    with pytest.raises(AssertionError) as info:
        assert_passed(failed)
    text = str(info.value)
    assert text.startswith("slocheck: FAIL (spec <spec>; reports in ")
    [row] = [line for line in text.splitlines() if line.startswith("  availability  ")]
    assert row.split() == ["availability", "availability", "fail", "80%", ">=", "99%", "500"]
    assert "availability 80% against the objective" in text
    assert_passed(_result(tmp_path, "pass", 1.0, "pass"))
    assert_passed(_result(tmp_path, "warn", 1.0, "warn"))
    with pytest.raises(AssertionError, match="WARN"):
        assert_passed(_result(tmp_path, "warn", 1.0, "warn"), allow_warn=False)


def test_each_slo_is_one_property(tmp_path: Path) -> None:
    failed = _result(tmp_path, "fail", 0.8, "fail")
    assert slo_properties(failed) == [
        ("slo:availability", "fail: 80% (target >= 99%)"),
        ("slocheck:verdict", "fail"),
        ("slocheck:reports", str(tmp_path)),
    ]
    assert slo_properties(failed, 2)[0][0] == "slo[2]:availability"
    assert slo_properties(failed, 2)[1][0] == "slocheck[2]:verdict"


def test_the_text_names_failed_cross_checks_and_errors(tmp_path: Path) -> None:
    from slocheck.evaluate.crosscheck import CrossCheck
    from slocheck.report.gate import gate_text

    result = _result(tmp_path, "inconclusive", 1.0, "pass")
    result.checks = [
        CrossCheck("achieved_load", False, "sent 40% of the requested 50 requests/s"),
        CrossCheck("request_counts", True, "client and server agree"),
    ]
    text = gate_text(result)
    assert "cross-check not ok: achieved_load: sent 40%" in text
    assert "request_counts" not in text
    result.verify, result.checks, result.error = None, [], "Prometheus died"
    assert gate_text(result).splitlines()[1:] == ["  error: Prometheus died"]
    result.error = None
    assert "no SLO was judged" in gate_text(result)


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    # pytest loads it in every session of an environment where slocheck is installed
    import subprocess
    import sys

    code = (
        "import sys, slocheck.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('slocheck', 'locust', 'gevent', 'httpx', 'pydantic', 'yaml')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == str(
        [
            "slocheck",
            "slocheck._version",
            "slocheck.errors",
            "slocheck.pytest_plugin",
        ]
    )


def test_a_gate_ends_normally_whatever_an_earlier_command_left_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a stop signal during this gate ends the session. A gate outside the main thread
    installs no handler (Python cannot there), so a signal an earlier command noted is still in
    the record: it must not turn this gate's normal end into a KeyboardInterrupt."""
    import threading
    from types import SimpleNamespace

    import slocheck.report.gate
    import slocheck.workflows.run
    from slocheck import pytest_plugin
    from slocheck.load import stopping

    result = SimpleNamespace(verdict="pass", slos=[], out_dir=tmp_path)
    monkeypatch.setattr(slocheck.workflows.run, "run", lambda *a, **k: result)
    monkeypatch.setattr(slocheck.report.gate, "write_run_reports", lambda *a, **k: None)
    monkeypatch.setattr("slocheck.store.run_record.record_of", lambda r: None)
    monkeypatch.setattr(pytest_plugin, "slo_properties", lambda r, n: [])
    monkeypatch.setattr(stopping, "_received", ["SIGTERM"])  # an earlier command's
    request = SimpleNamespace(
        node=SimpleNamespace(nodeid="t.py::test", user_properties=[]),
        config=SimpleNamespace(stash={}),
    )
    gate = pytest_plugin.Slocheck(request, tmp_path)  # type: ignore[arg-type]
    monkeypatch.setattr(
        gate, "resolve", lambda *a, **k: pytest_plugin.Resolved(SpecSource(text=SPEC), {})
    )
    outcome: list[object] = []

    def in_a_thread() -> None:
        try:
            outcome.append(gate.run(out_dir=tmp_path / "out"))
        except BaseException as e:  # what the gate raised is the answer
            outcome.append(e)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join(timeout=60)
    assert outcome == [result]
