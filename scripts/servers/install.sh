#!/usr/bin/env bash
# Install the third-party inference servers the integration tests start, into a cache outside
# the repository (${SLOCHECK_CACHE:-$HOME/.cache/slocheck}), reused by later runs and worktrees.
#   bash scripts/servers/install.sh [mlserver|llamacpp|all]     (default: all)
# Never fails the caller: a server that cannot be installed gets <cache>/<server>/FAILED with
# the reason, and the tests that need it skip with that reason (tests/integration/servers.py).
# SLOCHECK_SKIP_SERVERS=1 installs nothing (the tests then skip, saying how to install).
set -uo pipefail
source "$(dirname "$0")/common.sh"

what="${1:-all}"
case "$what" in
    mlserver) names=(mlserver) ;;
    llamacpp) names=(llamacpp) ;;
    all) names=(mlserver llamacpp) ;;
    *) echo "usage: $0 [mlserver|llamacpp|all]" >&2; exit 2 ;;
esac
if [ "${SLOCHECK_SKIP_SERVERS:-0}" = "1" ]; then
    log "SLOCHECK_SKIP_SERVERS=1: not installing ${names[*]}"
    exit 0
fi

for name in "${names[@]}"; do
    dir="$SLOCHECK_CACHE/$name"
    mkdir -p "$dir"
    # stderr goes to a file, so that FAILED can say why in a line; the lock keeps two setups
    # (two worktrees, or a background build and a test run) from building at once
    if flock "$dir/.lock" bash "$SERVERS_DIR/install_$name.sh" 2>"$dir/install.err"; then
        rm -f "$dir/FAILED"
    else
        status=$?
        reason="$(grep -v '^WARNING: Location' "$dir/install.err" | tail -n 3 | tr '\n' ' ')"
        echo "install_$name.sh exited $status: ${reason:-no message}" >"$dir/FAILED"
        log "$name: NOT installed ($(cat "$dir/FAILED")); its tests will skip"
    fi
done
exit 0
