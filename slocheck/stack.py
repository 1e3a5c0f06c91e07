"""The embedded default: ``slocheck serve`` as a child process, configured from the spec."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
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


def wait_until_ready(
    url: str,
    ready_path: str | None,
    timeout: float,
    exited: Callable[[], str | None] = lambda: None,
    what: str = "target",
) -> None:
    """Poll ``url + ready_path`` until it answers 2xx (with no ``ready_path``: until ``url``
    answers at all); ServiceStartError (exit 3) after ``timeout`` seconds or when ``exited``
    says why the service is gone."""
    probe = url + (ready_path or "/")
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if (why := exited()) is not None:
            raise ServiceStartError(f"the {what} service {why}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ServiceStartError(
                f"the {what} service at {probe} was not ready within {timeout:g} s ({last})",
                hint="is it running and listening there? raise target.ready_timeout if it "
                "needs longer to load its model",
            )
        try:
            status = httpx.get(probe, timeout=min(2.0, max(remaining, 0.05))).status_code
            if ready_path is None or 200 <= status < 300:
                return
            last = f"the last probe answered {status}"
        except httpx.HTTPError as e:
            last = f"the last probe: {type(e).__name__}: {e}" if str(e) else type(e).__name__
        time.sleep(min(0.1, max(remaining, 0.0)))


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
        proc = self.proc = spawn(args, log=self.log)

        def exited() -> str | None:
            code = proc.poll()
            return None if code is None else f"exited with {code} during start-up"

        try:
            wait_until_ready(self.url, "/health/ready", self.ready_timeout, exited, "embedded")
        except ServiceStartError as e:
            self.stop()
            raise ServiceStartError(f"{e.message}: {self._tail()}") from None
        except BaseException:  # Ctrl-C or SIGTERM during start-up: `with` never saw us start
            self.stop()
            raise
        return self

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_group(proc)
