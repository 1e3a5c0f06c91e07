#!/usr/bin/env bash
# Run a command while another process keeps one core busy, as on a shared or slow CI runner:
#   bash scripts/busy.sh .venv/bin/slocheck run --slo examples/slos.yaml
#   bash scripts/busy.sh bash scripts/test.sh        (what `scripts/test.sh --busy` does)
# The spinner is a plain shell loop bounded by BUSY_MAX_S (default 5400 s, CI's 90 minutes), and
# stops with the command, also on Ctrl-C. BUSY_CORES=N keeps N cores busy instead of one.
set -uo pipefail
if [ $# -eq 0 ]; then
    echo "usage: busy.sh COMMAND [ARGS...]" >&2
    exit 2
fi
spinners=()
stop_spinners() {
    for pid in "${spinners[@]}"; do kill "$pid" 2>/dev/null; done
    wait "${spinners[@]}" 2>/dev/null
}
trap stop_spinners EXIT
trap 'exit 130' INT TERM
for _ in $(seq "${BUSY_CORES:-1}"); do
    timeout "${BUSY_MAX_S:-5400}" sh -c 'while :; do :; done' &
    spinners+=($!)
done
echo "busy.sh: ${#spinners[@]} core(s) kept busy (pids ${spinners[*]}) while: $*" >&2
"$@"
