import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from slocheck.prom import ManagedPrometheus, backfill
from tests.conftest import group_of
from tests.helpers import run_cli
from tests.integration.backfill_data import Dataset, build

#: Started first on the workers (pytest-xdist hands out work in collection order): the longest
#: chains of work, one module or group that runs on one worker (tests/conftest.py GROUPS), or
#: the capacity searches and the endings that each take a minute, so that the short tests fill
#: in at the end.
LONGEST_FIRST = (
    "tests/integration/test_ci_templates.py",
    "tests/integration/test_prechecks.py",
    "tests/integration/test_docs_commands.py",
    "tests/integration/test_capacity.py",
    "tests/integration/test_endings.py",
    "tests/integration/test_imported_alerts.py",
    "tests/integration/test_rules.py::test_generate_writes",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
    # tests on llama-server last: on a fresh machine its build (scripts/servers/install.sh
    # --background, ~6-10 min) runs beside the rest of the suite. A group that runs on one
    # worker (tests/conftest.py GROUPS) goes last whole when one of its tests needs it: its
    # place in the queue is that of its first test.
    llama_groups = {group_of(item.nodeid) for item in items if _needs_llama(item)} - {None}
    items.sort(
        key=lambda item: (
            _needs_llama(item) or group_of(item.nodeid) in llama_groups,
            _rank(item.nodeid),
        )
    )


def _rank(nodeid: str) -> int:
    for rank, prefix in enumerate(LONGEST_FIRST):
        if nodeid.startswith(prefix):
            return rank
    return len(LONGEST_FIRST)


def _needs_llama(item: pytest.Item) -> bool:
    return "llama_server" in getattr(item, "fixturenames", ())


# real third-party servers (MLServer, llama.cpp's llama-server), installed by
# scripts/servers/install.sh; they skip with the installer's reason where missing
from tests.integration.servers import llama_server, mlserver_server  # noqa: E402, F401


# The backfilled Prometheus of tests/integration/backfill_data.py, one per module that asks for
# it (test_verify, test_toy_sli_kind; a module of its own `prom` overrides it): exact series,
# whose expected verdicts the dataset states.
@pytest.fixture(scope="module")
def data() -> Dataset:
    return build(time.time())


@pytest.fixture(scope="module")
def prom(data: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedPrometheus]:
    storage = tmp_path_factory.mktemp("tsdb")
    backfill(data.text, storage)
    with ManagedPrometheus(storage_path=storage) as p:
        yield p


@dataclass(frozen=True)
class ReadmeRun:
    """README command 1's run (``slocheck run --slo examples/slos.yaml``), with the production
    rules loaded into the managed Prometheus (``--with-rules``): its exit code, its report, what
    it printed and its folder."""

    code: int
    report: dict[str, Any]
    output: str
    out: Path


@pytest.fixture(scope="session")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    """Run once for the tests that judge README command 1 (``cpu_sensitive``: they run in the
    suite's second phase, one process, so once in all): that it passes with exact counts
    (test_run.py) and raises no production alert (test_rules.py). The rules only add what
    Prometheus evaluates; the load and its figures are the command's own."""
    out = tmp_path_factory.mktemp("readme") / "out"
    spec = Path(__file__).parents[2] / "examples" / "slos.yaml"
    result = run_cli(["run", "--slo", str(spec), "--out", str(out), "--with-rules"], timeout=300)
    path = out / "report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    return ReadmeRun(result.returncode, report, result.stdout + result.stderr, out)
