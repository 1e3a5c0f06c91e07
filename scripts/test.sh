#!/usr/bin/env bash
# Lint, type-check, check the import layering and run every test. Fails when pytest collects
# no test (its exit 5).
# --busy: the same, while another process keeps one core busy (scripts/busy.sh), to check that
# no test depends on the machine's speed. Other arguments go to pytest.
# The tests run in two phases (docs/testing.md): first all but the CPU-sensitive ones on
# SLOCHECK_TEST_WORKERS pytest-xdist workers (default 4, even on 2 cores: most of the
# integration tests' time is waiting on load windows and scrapes; tests/conftest.py keeps the
# modules that share a server or a fixed port on one worker), then the `cpu_sensitive` ones
# alone, with no other test beside them. SLOCHECK_TEST_WORKERS=0 runs the first phase in one
# process, in order. A phase that collects nothing is fine if the other ran tests.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--busy" ]; then
    shift
    exec bash scripts/busy.sh bash scripts/test.sh "$@"
fi

# Python writes what it compiles (pytest's rewritten test modules, a source changed since setup)
# once, instead of compiling it again in every worker and every process a test starts
unset PYTHONDONTWRITEBYTECODE

.venv/bin/ruff check slocheck tests benchmarks scripts scenarios || exit 1
.venv/bin/ruff format --check slocheck tests benchmarks scripts scenarios || exit 1
.venv/bin/mypy || exit 1
# the layering (pyproject.toml [tool.importlinter], docs/architecture.md); names the broken chain
.venv/bin/lint-imports || exit 1
.venv/bin/python scripts/import_cycles.py slocheck || exit 1
workers="${SLOCHECK_TEST_WORKERS:-4}"
xdist=()
if [ "$workers" != "0" ]; then
    xdist=(-n "$workers" --dist loadgroup)
fi
.venv/bin/python -m pytest -p no:cacheprovider "${xdist[@]}" -m "not cpu_sensitive" "$@"
first=$?
.venv/bin/python -m pytest -p no:cacheprovider -p no:xdist -m cpu_sensitive "$@"
second=$?
if [ "$first" -eq 5 ] && [ "$second" -eq 5 ]; then
    echo "test.sh: pytest collected no tests; that is a failure" >&2
    exit 1
fi
for status in "$first" "$second"; do
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        exit "$status"
    fi
done
exit 0
