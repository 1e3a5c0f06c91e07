"""``slocheck validate`` reads the spec back as a person would, and warns of unit traps, of
SLOs the spec's load cannot decide and of an unpaced closed loop (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.cli import main

EXAMPLES = Path(__file__).parents[3] / "examples"
PACED = "version: 1\nload: {rate: 50, duration: 30s}\nslos:\n"


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "slos.yaml"
    path.write_text(text)
    code = main(["validate", "--slo", str(path)])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())  # rich wraps long lines


def test_the_example_reads_back_one_line_per_slo_with_no_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--slo", str(EXAMPLES / "slos.yaml")]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("- ")]
    assert lines == [
        "- availability: availability on /v1/classify (requests not answered 5xx) at least 99%, "
        "from the server and the client (the stricter wins)",
        "- p95-latency: P95 of latency on /v1/classify at or below 500 ms, from the server",
        "- p99-latency: P99 of latency on /v1/classify at or below 1 s, from the server",
        "- error-ratio: error ratio on /v1/classify (server errors / requests) at or below 1%, "
        "from the server and the client (the stricter wins)",
        "- fast-requests: at least 99% of requests on /v1/classify answered within 250 ms, "
        "from the server and the client (the stricter wins)",
        "- throughput: throughput on /v1/classify at least 20 requests/s, from the server "
        "(severity warning)",
    ]
    assert "warning" not in out.replace("(severity warning)", "")


def test_a_bare_number_as_a_latency_threshold_is_a_trap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path, PACED + "  - {name: p95, sli: latency, percentile: 95, threshold: 500}\n", capsys
    )
    assert code == 0
    assert (
        "warning: " + str(tmp_path / "slos.yaml") + ":4: slos[0].threshold: 500 has no unit and "
        "is read as 500 seconds; write 500ms if you meant milliseconds"
    ) in out
    assert "P95 of latency at or below 500 s" in out


def test_a_latency_threshold_with_a_unit_is_no_trap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path, PACED + "  - {name: p95, sli: latency, percentile: 95, threshold: 2s}\n", capsys
    )
    assert code == 0 and "warning" not in out


def test_a_percentile_below_1_is_a_trap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _validate(
        tmp_path,
        PACED + "  - name: p95\n    sli: latency\n    percentile: 0.95\n    threshold: 500ms\n",
        capsys,
    )
    assert code == 0
    assert (
        ":6: slos[0].percentile: 0.95 is P0.95 (percentile is in percent, from 0 to 100): "
        "write 95 for P95"
    ) in out


def test_an_error_ratio_threshold_of_1_or_more_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path, PACED + "  - {name: e, sli: error_ratio, threshold: 1}\n", capsys
    )
    assert code == 2 and "slos[0].threshold: an error ratio of 100% or less can never fail" in out
    code, out = _validate(
        tmp_path, PACED + "  - {name: e, sli: error_ratio, threshold: 5}\n", capsys
    )
    assert code == 2 and "write 5% for a percentage" in out


def test_an_objective_of_1_is_a_trap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _validate(
        tmp_path, PACED + "  - {name: a, sli: availability, objective: 1}\n", capsys
    )
    assert code == 0
    assert "slos[0].objective: 1 is read as 100% (a ratio; one failure fails it): write 1%" in out
    code, out = _validate(
        tmp_path, PACED + "  - {name: a, sli: availability, objective: 100%}\n", capsys
    )
    assert code == 0 and "is read as 100%" not in out


def test_a_compact_form_trap_names_the_field_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path,
        "load: {rate: 50}\nslos:\n  latency:\n    target: 300\n    percentile: 95\n",
        capsys,
    )
    assert code == 0 and "slos.latency.target: 300 has no unit" in out


def test_an_slo_the_load_cannot_decide_names_the_count_and_a_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path,
        "version: 1\nload: {rate: 10, duration: 30s}\nslos:\n"
        "  - {name: p99, sli: latency, percentile: 99, threshold: 1s}\n"
        "  - {name: up, sli: availability, measurement: uptime, objective: 99.9%}\n"
        "  - {name: ok, sli: availability, objective: 99.9%}\n",
        capsys,
    )
    assert code == 0
    assert (
        "warning: cannot be decided at load.rate 10 requests/s for load.duration 30s: about 300 "
        "requests, and P99 needs 1,000 to pass; a duration of 3m would decide it"
    ) in out
    assert (
        "warning: cannot be decided in load.duration 30s: 30 scrapes (one every 1 s), and 99.9% "
        "needs 3,838 with the target up in every one; a duration of 80m would decide it"
    ) in out
    assert (
        "about 300 requests, and 99.9% needs 3,838 with no failure to pass; a duration of 8m "
        "would decide it"
    ) in out


def test_an_unpaced_closed_loop_is_warned_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(
        tmp_path,
        "version: 1\nload: {users: 16}\nslos:\n  - {name: a, sli: availability, objective: 99%}\n",
        capsys,
    )
    assert code == 0 and "16 users and no load.rate: an unpaced closed loop" in out
    code, out = _validate(
        tmp_path, PACED + "  - {name: a, sli: availability, objective: 99%}\n", capsys
    )
    assert code == 0 and "unpaced closed loop" not in out
