#!/usr/bin/env bash
# Set up a development environment on a fresh machine: system tools, then a venv in .venv.
# --servers: also the real inference servers the integration tests start (MLServer, llama.cpp).
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# amtool checks the Alertmanager routes `slocheck generate` writes (the tests run it)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
# a real PostgreSQL for the history tests of both stores (tests/postgres.py: initdb, pg_ctl)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]} from Debian's packages"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
fi
echo "setup: installing slocheck and its dev tools into .venv"
# --no-compile, then compileall: pip compiles one file after another; compileall -j 0 on every
# core. Compiled up front, whatever PYTHONDONTWRITEBYTECODE says: with it set (as on this
# project's machines) Python never writes what it compiles, and every process of a run
# (slocheck, Locust, the service) would compile its imports again, ~1.8 of the 3.9 CPU-seconds
# of a short run (benchmarks/suite-time.md)
.venv/bin/python -m pip install -q --disable-pip-version-check --no-compile -e ".[dev]"
site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
.venv/bin/python -m compileall -q -j 0 "$site" slocheck >/dev/null 2>&1 || true
if [ "${1:-}" = "--servers" ]; then
    # the third-party servers the tests start (MLServer now, llama.cpp built in the background
    # while the tests run), cached outside the repository: docs/servers.md
    bash scripts/servers/install.sh --background all
fi
echo "setup: done ($(.venv/bin/slocheck --version), $(prometheus --version 2>&1 | head -n 1))"
