"""Must show (issue 17, item 3): an OpenSLO v1 file and a Sloth spec for the objectives of
``examples/slos.yaml`` give the same verdicts, with the same values, as it on the same run.

One ``slocheck run`` of examples/slos.yaml (its own load: 50 requests/s for 30 s after a 5 s
warm-up) against a ``slocheck serve`` and a Prometheus of the test's own, which outlive the
run; then the run's window is judged again, as the run judged it (the same window, the same
settle time), with the spec in each of the three formats. Nothing here depends on the
machine's speed: whatever the verdicts are (a slow machine may make a latency SLO
inconclusive), the three formats must agree on them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slocheck.evaluate import Window
from slocheck.prom import HttpPromClient, ManagedPrometheus
from slocheck.slofile import load_spec
from slocheck.workflows.verify import verify
from tests.helpers import ServerProcess, run_cli

EXAMPLES = Path(__file__).parents[2] / "examples"
pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)


def _judged(spec: Path, prom: ManagedPrometheus, window: Window) -> dict[str, tuple]:  # type: ignore[type-arg]
    result = verify(load_spec(spec), HttpPromClient(prom.url), window)
    return {r.name: (r.verdict, r.value, r.samples) for r in result.results}


def test_openslo_and_sloth_judge_a_run_as_its_own_spec_does(tmp_path: Path) -> None:
    with (
        ServerProcess("--model", "both", "--no-access-log") as server,
        ManagedPrometheus([f"127.0.0.1:{server.port}"], job="slocheck") as prom,
    ):
        out = tmp_path / "out"
        args = ["run", "--slo", str(EXAMPLES / "slos.yaml"), "--target-url", server.url]
        args += ["--prometheus-url", prom.url, "--out", str(out)]
        result = run_cli(args, timeout=300)  # a hang guard, no bound on the machine's speed
        assert result.returncode in (0, 1), result.stdout + result.stderr
        report = json.loads((out / "report.json").read_text())
        # the run's window and settle time (with a Prometheus of its own: 2 scrape intervals)
        window = Window(report["window"]["start_unix"], report["window"]["end_unix"], 2.0)
        run = {s["name"]: (s["verdict"], s["value"]) for s in report["slos"]}
        own = _judged(EXAMPLES / "slos.yaml", prom, window)
        openslo = _judged(EXAMPLES / "openslo" / "slos.yaml", prom, window)
        sloth = _judged(EXAMPLES / "sloth" / "slos.yaml", prom, window)

    assert {name: v[:2] for name, v in own.items()} == run  # the window is the run's
    assert own["availability"][2] > 0  # the run loaded the service
    assert set(openslo) == set(own)  # every SLO of the example has an OpenSLO form
    assert openslo == own
    assert set(sloth) == {"availability", "fast-requests"}
    assert sloth == {name: own[name] for name in sloth}
