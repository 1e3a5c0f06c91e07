#!/usr/bin/env bash
# The gate in a cluster, for a CI job: deploy/kubernetes/gate.sh [NAMESPACE] (docs/kubernetes.md).
# Starts a fresh pair of Jobs from this Kustomize base, waits (bounded) for the master's pod to
# end, prints its log (the terminal report) and exits with slocheck's code: 0 met, 1 an SLO or
# regression failed, 2 a bad spec, 3 infrastructure. Anything else is 3, never 0: no exit code
# to read (the pod never ran, was deleted), a signal (130: the Job's deadline), a kill (137: out
# of memory), kubectl failing.
#   SLOCHECK_GATE_WAIT_S  how long to wait for the master's end (default 4200: the Jobs'
#                         deadline of an hour, and room to pull the image and schedule)
#   SLOCHECK_GATE_POLL_S  how often to look (default 5)
set -uo pipefail

ns="${1:-slocheck}"
here="$(cd "$(dirname "$0")" && pwd)"
wait_s="${SLOCHECK_GATE_WAIT_S:-4200}"
poll_s="${SLOCHECK_GATE_POLL_S:-5}"
selector="batch.kubernetes.io/job-name=slocheck-master"

k() { kubectl --namespace "$ns" "$@"; }

fail() {
    echo "gate.sh: $*: exit 3" >&2
    exit 3
}

# the exit code of the master's container once it has ended; nothing before that
exit_code() {
    k get pod --selector "$selector" \
        --output 'jsonpath={.items[0].status.containerStatuses[0].state.terminated.exitCode}' \
        2>/dev/null
}

# "True" once the master's Job has failed without its pod ending (its deadline, say)
job_failed() {
    k get job slocheck-master \
        --output 'jsonpath={.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null
}

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" >/dev/null ||
    fail "cannot create the namespace $ns"
# the last run's Jobs and pods gone first: a finished Job does not run again, and an old pod
# would answer for the new one
k delete job slocheck-master slocheck-workers --ignore-not-found --cascade=foreground --wait ||
    fail "cannot delete the last run's Jobs"
k apply --kustomize "$here" || fail "cannot apply $here"

code=""
tries=$((wait_s / (poll_s > 0 ? poll_s : 1))) # bounded, whatever the interval
for ((try = 0; try <= tries; try++)); do
    code="$(exit_code)" || code=""
    [ -n "$code" ] && break
    [ "$(job_failed)" = "True" ] && break
    sleep "$poll_s"
done

k logs "job/slocheck-master" --tail=-1 || true
case "$code" in
    0 | 1 | 2 | 3) exit "$code" ;;
    "") fail "no exit code from the master's pod (it never ran, or the wait ended first)" ;;
    *) fail "the master's pod ended with $code (130: stopped by a signal, the Job's deadline; 137: killed, out of memory)" ;;
esac
