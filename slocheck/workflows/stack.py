"""The embedded default: ``slocheck serve`` as a child process, configured from the spec."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from slocheck.errors import ServiceStartError, UsageError
from slocheck.service.config import FaultConfig, ServiceConfig
from slocheck.slofile import ServiceSpec
from slocheck.slofile.model import TargetSpec
from slocheck.supervise import Lifecycle, exited, free_port, spawn, stop_group, wait_ready

READY_TIMEOUT = 30.0


def service_config(spec: ServiceSpec, port: int, host: str = "127.0.0.1") -> ServiceConfig:
    """The spec's ``service:`` block uses ServiceConfig's (and FaultConfig's) field names."""
    options = spec.model_dump(exclude={"name", "faults"})
    return ServiceConfig(
        host=host,
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
    wait_ready(
        url + (ready_path or "/"),
        timeout,
        ServiceStartError,
        what=f"the {what} service",
        accept=(lambda status: True) if ready_path is None else (lambda s: 200 <= s < 300),
        exited=exited,
        hint="is it running and listening there? raise target.ready_timeout if it needs "
        "longer to load its model",
    )


class EmbeddedService(Lifecycle):
    def __init__(
        self,
        spec: ServiceSpec,
        log: Path,
        ready_timeout: float = READY_TIMEOUT,
        host: str = "127.0.0.1",
    ) -> None:
        self.config = service_config(spec, free_port(host), host)
        self.url = f"http://{host}:{self.config.port}"
        self.log = log
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the process without waiting for it to be ready (:meth:`start` waits), so that
        it starts while other things do."""
        if self.proc is None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            args = [sys.executable, "-m", "slocheck", "serve", *self.config.to_cli_args()]
            self.proc = spawn(args, log=self.log)

    def start(self) -> EmbeddedService:
        self.launch()
        assert self.proc is not None
        try:
            wait_until_ready(
                self.url, "/health/ready", self.ready_timeout, exited(self.proc), "embedded"
            )
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


def ready_paths(target: TargetSpec) -> list[str | None]:
    """What must answer 2xx before the load: ``ready_path`` when given, else the API's own
    readiness (KServe v2: the server, then the model; OpenAI: the model list)."""
    if target.ready_path is not None:
        return [target.ready_path]
    if target.api == "kserve-v2":
        return ["/v2/health/ready", f"/v2/models/{target.model}/ready"]
    if target.api == "openai":
        return ["/v1/models"]
    return [None]


def loopback_target(url: str, also: str = "127.0.0.1") -> str:
    """The ``host:port`` the embedded Prometheus scrapes: on this machine only (``also``: the
    address the embedded service listens on for remote workers)."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", also):
        raise UsageError(
            f"the embedded Prometheus only scrapes services on this machine; give "
            f"--prometheus-url for {url}"
        )
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
