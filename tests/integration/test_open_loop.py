"""Open-loop arrival against the embedded service with 300 ms injected into every answer: at
20 sends/s with at most 2 in flight, at most 2 / 0.3 = 6.7 sends/s can be served, so the
schedule runs ahead of the users. The client must measure latency from the intended send (far
above the service time), record the actual-send latency beside it, drop the sends over the
lateness bound, and never call the run a pass. Every condition follows from the injected delay
and the counts, not from how fast this machine is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from slocheck.load.locustfiles.arrivals import MAX_LATENESS_S
from tests.helpers import run_cli, run_spec

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
INJECTED_S = 0.3
SPEC = """version: 1
service:
  model: classifier
  faults: {latency: 300ms}
load:
  arrival: open
  rate: 20
  max_in_flight: 2
  warmup: 2s
  duration: 4s
slos:
  # loose on purpose: the latency SLO alone would pass; the dropped sends must stop that
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 30s, min_samples: 1}
"""


def test_open_loop_measures_from_the_intended_send_and_drops_what_it_cannot_send(
    tmp_path: Path,
) -> None:
    slos = tmp_path / "slos.yaml"
    slos.write_text(SPEC)
    out = tmp_path / "out"
    done = run_cli(["run", "--slo", str(slos), "--out", str(out)], timeout=120)
    output = done.stdout + done.stderr
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert report["verdict"] in ("inconclusive", "fail"), output
    assert done.returncode == 1, output
    assert report["load"]["arrival"] == "open" and report["load"]["max_in_flight"] == 2
    assert report["load"]["peak_users"] == 2  # the in-flight bound is the Locust users

    o = report["client"]["open_loop"]
    # two users, each busy >= 300 ms per request, cannot keep up with 20/s: sends were dropped
    assert o["dropped"] > 0, o
    checks = {c["name"]: c for c in report["cross_checks"]}
    assert not checks["dropped"]["ok"] and checks["dropped"]["details"]["dropped"] == o["dropped"]
    # every answer carries the injected delay, measured from either send
    assert o["actual_send_p50_s"] >= INJECTED_S * 0.98, o
    assert o["intended_send_p50_s"] >= o["actual_send_p50_s"], o
    # the backlog: 2 s into the run, 40 sends were due and the two users had served at most
    # 2 / 0.3 * 2 = 13, so from then on each send goes out about the lateness bound (1 s) late;
    # the window starts after the warm-up, so its median send waited most of that second
    assert o["intended_send_p50_s"] - o["actual_send_p50_s"] > 0.5 * MAX_LATENESS_S, o
    # each request sent has both latencies: the request counts equal the service_time counts
    window = report["client"]["window"]
    # (the two are recorded microseconds apart: a second's boundary may split one pair)
    assert window["/v1/classify"]["count"] == o["sent"] > 0
    assert abs(window["service_time"]["count"] - o["sent"]) <= 1, window
    assert "client (open loop): from intended send P50" in output
    assert "dropped" in output


# issue 23: the stall spec as a user writes it (no users, no max_in_flight). The service stops
# for 2 s every 10 s; every request due during a stall waits for its end, so ~20% of the sends
# take up to 2 s from their intended time: P95 lies far above 500 ms at any machine's speed.
# 100/s x 5 thresholds of 500 ms = 250 requests in flight keep sending through each stall.
STALL_SPEC = """version: 1
service:
  faults: {stall_every: 10s, stall_for: 2s}
load: {arrival: open, rate: 100}
slos:
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 500ms}
"""


def test_an_open_loop_against_a_stalling_service_fails_its_latency_slo(tmp_path: Path) -> None:
    code, report, output = run_spec(tmp_path, STALL_SPEC, timeout=300)
    assert code == 1, output
    (p95,) = report["slos"]
    assert p95["verdict"] == "fail", output
    assert p95["details"]["source"] == "both"
    # the client's latency from the intended send saw the stalls
    assert p95["details"]["client"]["verdict"] == "fail", p95["explanation"]
    assert p95["details"]["client"]["value"] > 0.5
    assert report["client"]["open_loop"]["max_in_flight"] == 250
