"""Prometheus in a container (the ``containers`` extra), for machines with a Docker engine and
no ``prometheus`` binary. Same surface as :class:`~slocheck.prom.managed.ManagedPrometheus`."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slocheck.errors import PrometheusError
from slocheck.prom.scrape import ScrapeWaits, scrape_config
from slocheck.supervise import wait_ready

IMAGE = "prom/prometheus:v2.53.0"


def docker_reachable() -> bool:
    try:
        return (
            subprocess.run(
                ["docker", "info"], capture_output=True, timeout=10, check=False
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


class ContainerPrometheus(ScrapeWaits):
    def __init__(
        self,
        targets: Sequence[str] = (),
        *,
        job: str = "slocheck",
        scrape_interval: float = 1.0,
        metrics_path: str = "/metrics",
        image: str = IMAGE,
    ) -> None:
        # Targets on the host's loopback are reached through the host gateway.
        self.targets = [t.replace("127.0.0.1", "host.docker.internal") for t in targets]
        self.job, self.scrape_interval, self.image = job, scrape_interval, image
        self.metrics_path = metrics_path
        self.url = ""
        self._container: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> ContainerPrometheus:
        try:
            from testcontainers.core.container import (  # type: ignore[import-not-found]
                DockerContainer,
            )
        except ImportError as e:
            raise PrometheusError(
                "no prometheus binary, and testcontainers is not installed",
                hint="pip install 'slocheck[containers]'",
            ) from e
        self._tmp = tempfile.TemporaryDirectory(prefix="slocheck-prom-")
        config = Path(self._tmp.name) / "prometheus.yml"
        config.write_text(
            scrape_config(self.targets, self.job, self.scrape_interval, self.metrics_path)
        )
        container = (
            DockerContainer(self.image)
            .with_exposed_ports(9090)
            .with_volume_mapping(str(config), "/etc/prometheus/prometheus.yml", "ro")
            .with_kwargs(extra_hosts={"host.docker.internal": "host-gateway"})
        )
        try:
            self._container = container.start()
            host = self._container.get_container_host_ip()
            self.url = f"http://{host}:{self._container.get_exposed_port(9090)}"
        except Exception as e:
            self.stop()
            raise PrometheusError(f"the Prometheus container did not start: {e}") from None
        try:
            wait_ready(
                self.url + "/-/ready",
                60,
                PrometheusError,
                what="the Prometheus container",
                every=0.2,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
