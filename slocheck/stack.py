"""The embedded default: ``slocheck serve`` as a child process, configured from the spec."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from slocheck.errors import ServiceStartError
from slocheck.load.runner import spawn, stop_group
from slocheck.prom.managed import Lifecycle, free_port
from slocheck.service.config import FaultConfig, ServiceConfig
from slocheck.spec import ServiceSpec

READY_TIMEOUT = 30.0


def service_config(spec: ServiceSpec, port: int) -> ServiceConfig:
    """The spec's ``service:`` block uses ServiceConfig's (and FaultConfig's) field names."""
    options = spec.model_dump(exclude={"name", "faults"})
    return ServiceConfig(
        port=port,
        access_log=False,
        service_name=spec.name,
        faults=FaultConfig(**spec.faults.model_dump()),
        **options,
    )


class EmbeddedService(Lifecycle):
    def __init__(self, spec: ServiceSpec, log: Path, ready_timeout: float = READY_TIMEOUT) -> None:
        self.config = service_config(spec, free_port())
        self.url = f"http://127.0.0.1:{self.config.port}"
        self.log = log
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedService:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "slocheck", "serve", *self.config.to_cli_args()]
        self.proc = spawn(args, log=self.log)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceStartError(
                    f"the embedded service exited with {self.proc.returncode}"
                    f" during start-up: {self._tail()}"
                )
            try:
                if httpx.get(self.url + "/health/ready", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServiceStartError(
            f"the embedded service was not ready within {self.ready_timeout:g} s: {self._tail()}"
        )

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_group(proc)
