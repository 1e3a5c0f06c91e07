#!/usr/bin/env bash
# Set up a development environment on a fresh machine: system tools, then a venv in .venv.
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
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
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
bash scripts/servers/install.sh --background all  # MLServer, llama.cpp (docs/servers.md)
echo "setup: done ($(.venv/bin/slocheck --version), $(prometheus --version 2>&1 | head -n 1))"
