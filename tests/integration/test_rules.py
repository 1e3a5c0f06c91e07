"""The generated production rules with a real promtool and a real Prometheus: for every spec
in examples/, promtool accepts the rules and their unit tests pass (and fail when a burn
factor is changed); ``slocheck run --with-rules`` shows the availability burn alerts firing
on the faulty example and no alert on the README's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from slocheck.rules import rule_set
from slocheck.rules.promtool import rule_tests
from slocheck.slofile import load_spec
from slocheck.workflows.generate import generate
from tests.helpers import run_cli
from tests.integration.conftest import ReadmeRun

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("**/*.yaml"))  # openslo/ and sloth/ too
FOUR_FILES = (
    "prometheus-rules.yml",
    "prometheus-rules.test.yml",
    "grafana-dashboard.json",
    "alertmanager-routes.yml",
)
pytestmark = [
    pytest.mark.skipif(
        shutil.which("promtool") is None, reason="needs promtool (scripts/setup.sh installs it)"
    ),
    # a hang guard, not a bound on speed: the promtool runs share the CPU with other workers
    pytest.mark.timeout(900),
]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def write(spec_path: Path, out: Path, mutate: tuple[str, str] | None = None) -> None:
    spec = load_spec(spec_path).spec
    rules = rule_set(spec).to_yaml()
    if mutate is not None:
        assert mutate[0] in rules
        rules = rules.replace(*mutate)
    (out / "prometheus-rules.yml").write_text(rules)
    (out / "prometheus-rules.test.yml").write_text(rule_tests(spec).to_yaml("prometheus-rules.yml"))


@pytest.mark.parametrize("spec_path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_generate_writes_four_files_that_promtool_and_amtool_accept(
    spec_path: Path, tmp_path: Path
) -> None:
    result = generate(load_spec(spec_path), tmp_path, check=True)
    assert set(result.files) == set(FOUR_FILES)
    assert all(p.is_file() and p.stat().st_size > 0 for p in result.files.values())
    assert [c.command[:2] for c in result.checks] == [["check", "rules"], ["test", "rules"]]
    for c in result.checks:
        assert c.ok, c.output
    json.loads((tmp_path / "grafana-dashboard.json").read_text())
    if shutil.which("amtool") is not None:
        am = subprocess.run(
            ["amtool", "check-config", "alertmanager-routes.yml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert am.returncode == 0, am.stdout + am.stderr


def test_the_generate_command(tmp_path: Path) -> None:
    spec = ROOT / "examples" / "slos.yaml"
    result = run_cli(["generate", "--slo", str(spec), "--out", str(tmp_path), "--check"], 600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok promtool test rules" in result.stdout
    assert "no rule for throughput" in result.stdout


@pytest.mark.parametrize(
    "mutate",
    [
        ("(14.4 * 0.001)", "(30 * 0.001)"),  # the fast page pair
        ("(6 * 0.001)", "(12 * 0.001)"),  # the slow page pair
        ("(3 * 0.001)", "(5 * 0.001)"),  # the fast ticket pair
        ("(1 * 0.001)", "(1.6 * 0.001)"),  # the slow ticket pair
        ("> 0.25", "> 0.5"),  # the latency threshold
    ],
)
def test_the_promtool_tests_fail_when_a_rule_is_wrong(
    mutate: tuple[str, str], tmp_path: Path
) -> None:
    write(ROOT / "examples" / "slos-faulty.yaml", tmp_path, mutate)
    test = promtool("test", "rules", "prometheus-rules.test.yml", cwd=tmp_path)
    assert test.returncode != 0, f"{mutate} went unnoticed"


def _alerts(out: Path) -> list[dict[str, Any]]:
    report = json.loads((out / "report.json").read_text())
    alerts: list[dict[str, Any]] = report["alerts"]
    return alerts


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the prometheus binary")
def test_a_faulty_run_with_rules_fires_the_availability_burn_alerts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    faulty = ROOT / "examples" / "slos-faulty.yaml"
    result = run_cli(["run", "--slo", str(faulty), "--out", str(out), "--with-rules"], timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    fired = {
        (a["alertname"], a["labels"]["severity"])
        for a in _alerts(out)
        if a["firing_at"] is not None and a["firing_in_window_s"] > 0
    }
    # 5% errors against a 0.1% budget: a 50x burn, above every pair's factor
    assert ("AvailabilityErrorBudgetBurn", "page") in fired, fired
    assert ("AvailabilityErrorBudgetBurn", "ticket") in fired, fired
    assert "AvailabilityErrorBudgetBurn" in (out / "summary.md").read_text()
    assert "AvailabilityErrorBudgetBurn" in (out / "report.html").read_text()
    assert "alerts: AvailabilityErrorBudgetBurn" in result.stdout


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the prometheus binary")
def test_the_readme_run_with_rules_raises_no_alert(readme_run: ReadmeRun) -> None:
    assert readme_run.code == 0, readme_run.output
    assert [a for a in _alerts(readme_run.out) if a["in_window"]] == []
    assert "no production alert went pending or fired" in readme_run.output
