"""The managed Prometheus scraping a real ``slocheck serve``; the testcontainers path."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import httpx
import pytest

from slocheck.errors import PrometheusError
from slocheck.evaluate import Window
from slocheck.prom import HttpPromClient, ManagedPrometheus
from slocheck.prom.containers import docker_reachable
from slocheck.slofile import parse_spec
from slocheck.workflows.verify import verify
from tests.helpers import ServerProcess
from tests.integration.test_serve import drive

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)

SPEC = """\
version: 1
prometheus: {selector: 'job="slocheck", endpoint="/v1/classify"', scrape_interval: 1s}
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95, sli: latency, percentile: 95, threshold: 10s}
"""


@needs_prometheus
def test_scrape_wait_and_verify_exact_counts(tmp_path: Path) -> None:
    with (
        ServerProcess("--no-access-log", log_path=tmp_path / "serve.log") as srv,
        ManagedPrometheus([f"127.0.0.1:{srv.port}"], scrape_interval=0.5) as prom,
    ):
        assert httpx.get(prom.url + "/-/ready").status_code == 200
        # the series exist at 0 before the load (the timeout is a hang guard: a new target's
        # first scrape comes 5-6 s after Prometheus starts)
        prom.wait_for_scrape_after(time.time(), timeout=60)
        start = time.time()
        statuses = asyncio.run(drive(srv.url, 600, 8))
        end = time.time()
        newest = prom.wait_for_scrape_after(end, timeout=60)
        assert newest > end
        # the load stopped at end: the first scrape after it holds the exact final count
        window = Window(start, end, settle=newest - end)
        result = verify(parse_spec(SPEC), HttpPromClient(prom.url), window)
    assert statuses == {200: 600}
    avail = {r.name: r for r in result.results}["availability"]
    assert avail.samples == 600, avail.explanation  # exactly what the client sent
    assert avail.verdict == "pass" and avail.value == 1.0
    assert result.verdict == "pass"


@needs_prometheus
def test_stop_cleans_up_and_a_dead_prometheus_is_reported(tmp_path: Path) -> None:
    prom = ManagedPrometheus([]).start()
    proc = prom._proc
    assert proc is not None and prom.running
    storage = prom.log_path.parent if prom.log_path else None
    prom.stop()
    assert proc.poll() is not None and not prom.running
    assert storage is not None and not storage.exists()
    prom.stop()  # twice is harmless


def test_no_binary_gives_an_install_hint() -> None:
    prom = ManagedPrometheus([])
    prom.binary = None  # as on a machine without one
    with pytest.raises(PrometheusError) as info:
        prom.start()
    assert "apt-get install prometheus" in str(info.value)


@needs_prometheus
def test_a_prometheus_that_dies_at_start_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "storage-is-a-file"
    bad.write_text("not a directory")
    with pytest.raises(PrometheusError, match="exited"):
        ManagedPrometheus([], storage_path=bad, ready_timeout=120).start()


@pytest.mark.skipif(
    not docker_reachable(),
    reason="no Docker engine is reachable on this "
    "machine: the testcontainers backend cannot start a container here",
)
def test_testcontainers_backend() -> None:  # pragma: no cover - needs Docker
    pytest.importorskip("testcontainers", reason="the 'containers' extra is not installed")
    from slocheck.prom.containers import ContainerPrometheus

    with ContainerPrometheus([]) as prom:
        assert httpx.get(prom.url + "/-/ready", timeout=5).status_code == 200
