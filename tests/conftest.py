"""Settings for the whole suite, and how its tests share pytest-xdist's workers.

scripts/test.sh runs the suite on several workers (``-n N --dist loadgroup``): most of the
integration tests' time is waiting (load windows, scrapes, servers starting), which overlaps
even on 2 cores. Each test is its own unit of work, except the modules of :data:`GROUPS`,
whose tests run on one worker, one after another, in their order: a module-scoped fixture (a
server, a backfilled Prometheus) is then built once and its counters stay the module's, and
tests that share a fixed port never run at once. pytest-xdist's own ``xdist_group`` mark is
not used: it renames the test ids, which pytest 9.2 no longer lets it do (the groups would be
silently ignored); :class:`GroupScheduling` groups by module path instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline: hypothesis' default (200 ms) measures the machine's speed, and a busy
# runner would turn a slow example into a failure. Tests bound their inputs instead.
settings.register_profile("slocheck", deadline=None)
settings.load_profile("slocheck")

#: Tests that run on one worker, one after another, by a prefix of their id: a module's path
#: (all its tests, in their order) or ``path::test_name``. Everything else is spread test by
#: test. A module that uses a module-scoped fixture of the suite must be listed whole
#: (collection fails otherwise, saying so).
GROUPS: dict[str, str] = {
    # Locust's `--processes N` binds its master to Locust's fixed default port 5557
    "tests/integration/test_secrets.py": "locust-port-5557",
    # module-scoped fixtures: one server / Prometheus / checkout copy / generated set per module
    "tests/integration/test_ci_templates.py": "ci_templates",
    "tests/integration/test_imported_alerts.py": "imported_alerts",
    "tests/integration/test_init.py": "init",
    "tests/integration/test_load_apis.py": "load_apis",
    "tests/integration/test_prechecks.py": "prechecks",
    "tests/integration/test_presets.py": "presets",
    "tests/integration/test_run_servers.py": "run_servers",
    "tests/integration/test_servers.py": "servers",
    "tests/integration/test_toy_sli_kind.py": "toy_sli_kind",
    "tests/integration/test_verify.py": "verify",
    "tests/unit/load/test_stream_read.py": "stream_read",
    "tests/unit/rules/test_dashboard.py": "dashboard",
    "tests/unit/service/test_fuzz_bodies.py": "fuzz_bodies",
    "tests/unit/test_fuzz.py": "fuzz",
}


#: CPU-sensitive figures, marked ``cpu_sensitive``: runs that must pass and whose evidence
#: depends on the CPU the load generator gets: examples/slos.yaml's `fast-requests` (99% within
#: 250 ms as the load generator measures it, its own CPU queueing included) and the achieved
#: rate. They hold with one core busy, as README command 2 runs, but not beside a promtool run
#: or a pip install on the other workers, so scripts/test.sh runs them after the others, alone
#: (``-m cpu_sensitive``, no workers).
CPU_SENSITIVE = (
    "tests/integration/test_run.py::test_embedded_default_passes_with_exact_counts",
    "tests/integration/test_rules.py::test_the_readme_run_with_rules_raises_no_alert",
    "tests/integration/test_init.py::test_init_against_the_embedded_service_writes_a_spec_that"
    "_passes",
)


def group_of(nodeid: str) -> str | None:
    """The group of :data:`GROUPS` the test belongs to (the longest prefix), if any."""
    keys = [k for k in GROUPS if nodeid == k or nodeid.startswith((k + "::", k + "_", k + "["))]
    return GROUPS[max(keys, key=len)] if keys else None


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its group, else the test alone."""
    group = group_of(nodeid)
    return f"group:{group}" if group is not None else nodeid


def _module_fixtures(item: pytest.Item) -> list[str]:
    """The module-scoped fixtures of this suite that the test uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return sorted(
        name
        for name, defs in info.name2fixturedefs.items()
        for fixturedef in defs
        if fixturedef.scope == "module"
        and (getattr(fixturedef.func, "__module__", "") or "").startswith("tests.")
    )


def _args() -> list[str]:
    import sys

    return sys.argv[1:]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`CPU_SENSITIVE`. Refuse a module with a module-scoped fixture
    that is not in :data:`GROUPS`: spread over the workers, each would build the fixture
    again, and counters it shares would split."""
    ids = {item.nodeid for item in items}
    for item in items:
        if item.nodeid in CPU_SENSITIVE:
            item.add_marker(pytest.mark.cpu_sensitive)
    modules = {nodeid.split("::", 1)[0] for nodeid in ids}
    lost = [n for n in CPU_SENSITIVE if n.split("::", 1)[0] in modules and n not in ids]
    if lost and not any("::" in a or "-k" in a for a in _args()):
        raise pytest.UsageError(
            f"CPU_SENSITIVE in tests/conftest.py names {lost[0]}, which its module no longer "
            "has: a renamed test would silently run among the workers; give its new name"
        )
    missing = {
        item.nodeid.split("::", 1)[0]: names
        for item in items
        if (names := _module_fixtures(item)) and item.nodeid.split("::", 1)[0] not in GROUPS
    }
    if missing:
        path, names = next(iter(missing.items()))
        raise pytest.UsageError(
            f"{path} uses the module-scoped fixture(s) {', '.join(names)}: add the module to "
            "GROUPS in tests/conftest.py, so that its tests share one pytest-xdist worker"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: :class:`GroupScheduling` (the units of :func:`work_unit`)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """Units of work in the order collected (the slow ones first, see
        tests/integration/conftest.py), not reordered by size."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return GroupScheduling(config, log)
