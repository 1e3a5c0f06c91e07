"""``slocheck generate``: the production side of an SLO file, written atomically into one
folder: Prometheus rules, their promtool unit tests, a Grafana dashboard and Alertmanager
routes; optionally checked with promtool (``check``)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from slocheck.errors import InfrastructureError
from slocheck.report import write_atomic
from slocheck.rules import rule_set
from slocheck.rules.alertmanager import routes_yaml
from slocheck.rules.dashboard import dashboard_json
from slocheck.rules.promtool import rule_tests
from slocheck.slofile import LoadedSpec

RULES = "prometheus-rules.yml"
TESTS = "prometheus-rules.test.yml"
DASHBOARD = "grafana-dashboard.json"
ROUTES = "alertmanager-routes.yml"
PROMTOOL_TIMEOUT = 600.0


@dataclass(frozen=True)
class PromtoolCheck:
    command: list[str]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class GenerateResult:
    loaded: LoadedSpec
    out_dir: Path
    files: dict[str, Path]
    rules: int  # recording and alerting rules written
    tests: int  # promtool test groups written
    skipped: list[tuple[str, str]]  # (SLO, why it has no rule)
    untested: list[tuple[str, str]]  # (SLO, why its rules have no promtool test)
    checks: list[PromtoolCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def write_rules(loaded: LoadedSpec, out_dir: Path) -> Path:
    """Only the Prometheus rules (what ``run --with-rules`` loads)."""
    return write_atomic(out_dir / RULES, rule_set(loaded.spec).to_yaml())


def generate(loaded: LoadedSpec, out_dir: Path, *, check: bool = False) -> GenerateResult:
    spec = loaded.spec
    rules = rule_set(spec)
    tests = rule_tests(spec)
    files = {
        RULES: write_atomic(out_dir / RULES, rules.to_yaml()),
        TESTS: write_atomic(out_dir / TESTS, tests.to_yaml(RULES)),
        DASHBOARD: write_atomic(out_dir / DASHBOARD, dashboard_json(spec)),
        ROUTES: write_atomic(out_dir / ROUTES, routes_yaml(spec)),
    }
    result = GenerateResult(
        loaded,
        out_dir,
        files,
        rules=sum(len(g["rules"]) for g in rules.groups),
        tests=len(tests.tests),
        skipped=rules.skipped,
        untested=tests.untested,
    )
    if check:
        result.checks = promtool_checks(out_dir)
    return result


def promtool_checks(out_dir: Path) -> list[PromtoolCheck]:
    """``promtool check rules`` and ``promtool test rules`` on the written files."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise InfrastructureError(
            "--check needs promtool (Debian/Ubuntu: apt-get install prometheus)"
        )
    out = []
    for args in ([promtool, "check", "rules", RULES], [promtool, "test", "rules", TESTS]):
        try:
            done = subprocess.run(
                args,
                cwd=out_dir,
                capture_output=True,
                text=True,
                timeout=PROMTOOL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            raise InfrastructureError(f"{' '.join(args)} ran past {PROMTOOL_TIMEOUT:g} s") from e
        out.append(PromtoolCheck(args[1:], done.returncode, (done.stdout + done.stderr)[-4000:]))
    return out
