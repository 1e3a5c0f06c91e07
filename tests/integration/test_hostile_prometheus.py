"""Issue 24's acceptance test: every answer from Prometheus is checked before it is judged.
``slocheck verify`` against a hostile Prometheus (:mod:`tests.integration.hostile_prometheus`)
never exits 0, while the same spec over clean data does."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.integration.hostile_prometheus import SCENARIOS, SPEC, WINDOW, Data, hostile_prometheus

#: scenario -> (exit code, (the SLO, its verdict, the check that caught it) or what is printed)
EXPECTED: dict[str, tuple[int, tuple[str, str, str] | str]] = {
    "control": (0, ("availability", "pass", "")),
    "status_error_with_200": (3, 'status is "error", not "success" (internal: boom)'),
    "warnings_and_missing_error_series": (2, ("availability", "error", "partial_response")),
    "duplicate_series": (2, ("throughput", "error", "duplicate_series")),
    "replicas_a_and_b": (2, ("throughput", "error", "duplicate_series")),
    "nan_error_counter": (1, ("availability", "no_data", "unclean_samples")),
    "plus_inf_error_counter": (1, ("availability", "no_data", "unclean_samples")),
    "minus_inf_error_counter": (1, ("availability", "no_data", "unclean_samples")),
    "negative_error_counter": (1, ("availability", "no_data", "unclean_samples")),
    "promql_plus_inf_ge": (1, ("probe-ge", "no_data", "non_finite")),
    "promql_minus_inf_le": (1, ("probe-le", "no_data", "non_finite")),
    "non_monotone_histogram": (2, ("p99", "error", "non_monotone_buckets")),
    "instant_vector_for_range": (3, 'resultType is "vector" where matrix was asked'),
    "counts_near_1e294": (2, ("availability", "error", "magnitude")),
    "truncated_body": (3, "was cut off (truncated body"),
    "wrong_result_type": (3, 'resultType is "string" where vector or scalar was asked'),
}


def test_every_scenario_is_expected() -> None:
    assert set(EXPECTED) == set(SCENARIOS)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_verify_never_passes_a_hostile_answer(tmp_path: Path, scenario: str) -> None:
    end = float(int(time.time()) - 120)
    data = Data(end - WINDOW, end)
    with hostile_prometheus(scenario, data) as prom:
        spec = tmp_path / "slos.yaml"
        spec.write_text(SPEC.format(url=prom.url))
        out = tmp_path / "report.json"
        args = ["verify", "--slo", str(spec), "--start", str(data.start), "--end", str(end)]
        result = run_cli([*args, "--json", str(out)], timeout=60)
    output = result.stdout + result.stderr
    code, expected = EXPECTED[scenario]
    assert result.returncode == code, output
    assert (result.returncode == 0) is (scenario == "control"), output
    assert "connection refused" not in output
    if isinstance(expected, str):
        assert expected in " ".join(output.split()), output
        return
    name, verdict, check = expected
    slos = {s["name"]: s for s in json.loads(out.read_text())["slos"]}
    if scenario == "control":
        assert {s["verdict"] for s in slos.values()} == {"pass"}, output
        return
    slo = slos[name]
    assert (slo["verdict"], slo["details"].get("check")) == (verdict, check), slo
    assert slo["query"] and slo["details"]["query"] == slo["query"]
    assert all(s["verdict"] != "pass" or s["name"] != name for s in slos.values())
