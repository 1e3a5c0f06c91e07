import pytest

from tests.conftest import group_of

#: Started first on the workers (pytest-xdist hands out work in collection order): the longest
#: chains of work, one module or group that runs on one worker (tests/conftest.py GROUPS), or
#: the promtool runs of three-day burn windows, so that the short tests fill in at the end.
LONGEST_FIRST = (
    "tests/integration/test_ci_templates.py",
    "tests/integration/test_prechecks.py",
    "tests/integration/test_docs_commands.py",
    "tests/integration/test_rules.py::test_generate_writes",
    "tests/integration/test_imported_alerts.py",
    "tests/integration/test_rules.py::test_the_promtool_tests_fail",
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
