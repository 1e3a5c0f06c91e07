#!/usr/bin/env bash
# Install the third-party inference servers the integration tests start, into a cache outside
# the repository (${SLOCHECK_CACHE:-$HOME/.cache/slocheck}), reused by later runs and worktrees.
#   bash scripts/servers/install.sh [--background] [mlserver|llamacpp|all]     (default: all)
# Never fails the caller: a server that cannot be installed gets <cache>/<server>/FAILED with
# the reason, and the tests that need it skip with that reason (tests/integration/servers.py).
# --background: MLServer (about 30 s) installs now; the llama.cpp build (6 to 10 min on 2 cores)
# goes on detached and niced, logging to <cache>/llamacpp/install.log, so that it overlaps the
# test run. It holds <cache>/llamacpp/.lock from before this script returns until it ends; the
# llama-server fixture waits on that lock (bounded) instead of skipping.
# SLOCHECK_SKIP_SERVERS=1 installs nothing (the tests then skip, saying how to install).
set -uo pipefail
source "$(dirname "$0")/common.sh"

background=0
if [ "${1:-}" = "--background" ]; then background=1; shift; fi
what="${1:-all}"
case "$what" in
    mlserver) names=(mlserver) ;;
    llamacpp) names=(llamacpp) ;;
    all) names=(mlserver llamacpp) ;;
    *) echo "usage: $0 [--background] [mlserver|llamacpp|all]" >&2; exit 2 ;;
esac
if [ "${SLOCHECK_SKIP_SERVERS:-0}" = "1" ]; then
    log "SLOCHECK_SKIP_SERVERS=1: not installing ${names[*]}"
    exit 0
fi

# run_install NAME: the install script, with fd 9 holding NAME's lock; FAILED says why on failure
run_install() {
    local dir="$SLOCHECK_CACHE/$1" status
    # stderr goes to a file, so that FAILED can say why in a line
    if bash "$SERVERS_DIR/install_$1.sh" 2>"$dir/install.err"; then
        rm -f "$dir/FAILED"
    else
        status=$?
        reason="$(grep -v '^WARNING: Location' "$dir/install.err" | tail -n 3 | tr '\n' ' ')"
        echo "install_$1.sh exited $status: ${reason:-no message}" >"$dir/FAILED"
        log "$1: NOT installed ($(cat "$dir/FAILED")); its tests will skip"
    fi
}

for name in "${names[@]}"; do
    dir="$SLOCHECK_CACHE/$name"
    mkdir -p "$dir"
    # the lock keeps two setups (two worktrees, a background build and a test run) apart
    exec 9>"$dir/.lock"
    if [ "$background" = "1" ] && [ "$name" = "llamacpp" ]; then
        if ! flock -n 9; then
            log "llama.cpp: another install holds $dir/.lock; leaving it to finish"
        else
            # the child inherits fd 9, so the lock stays held after this script returns
            nohup nice -n 10 bash -c "$(declare -f run_install log); SLOCHECK_CACHE='$SLOCHECK_CACHE' \
                SERVERS_DIR='$SERVERS_DIR' run_install llamacpp" </dev/null >"$dir/install.log" 2>&1 &
            log "llama.cpp: installing in the background (pid $!, log $dir/install.log)"
        fi
    else
        flock 9
        run_install "$name"
    fi
    exec 9>&-
done
exit 0
