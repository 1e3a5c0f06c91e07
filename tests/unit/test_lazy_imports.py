"""Every ``slocheck`` process builds the CLI's parser (the embedded service's too), and every
Locust process imports the built-in users: neither may pull in what it does not use (the spec's
pydantic model, httpx, numpy, the load runner), which cost ~0.65 s and ~0.35 s of CPU before
every run's service and load started (benchmarks/suite-time.md). The packages whose public
names are lazy (``slocheck.load``, ``slocheck.results``, ``slocheck.slofile``,
``slocheck.service``) still give them by attribute."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydantic", "httpx", "numpy", "locust", "slocheck.load.runner", "slocheck.slofile.model")


def _imported_after(statement: str) -> list[str]:
    code = (
        f"import json, sys; {statement}; "
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found: list[str] = json.loads(done.stdout)
    return found


def test_the_parser_imports_nothing_heavy() -> None:
    assert _imported_after("import slocheck.cli; slocheck.cli.build_parser()") == []


def test_the_locust_users_import_neither_the_runner_nor_the_spec_model() -> None:
    found = _imported_after("import slocheck.load.locustfiles.openai_user")
    assert found == ["locust"]


@pytest.mark.parametrize(
    ("package", "name"),
    [
        ("slocheck.load", "LoadConfig"),
        ("slocheck.load", "run_load"),
        ("slocheck.results", "RunResult"),
        ("slocheck.slofile", "load_spec"),
        ("slocheck.slofile", "KINDS"),
    ],
)
def test_the_lazy_packages_still_give_their_public_names(package: str, name: str) -> None:
    module = __import__(package, fromlist=[name])
    assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        module.nothing  # noqa: B018
