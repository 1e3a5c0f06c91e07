"""A Prometheus that slocheck starts and stops itself.

The local ``prometheus`` binary (Debian's package) on a free loopback port with a generated
config (1 s scrapes) and temporary storage; or, on an existing TSDB directory (a backfilled one),
with no scrape targets. When no binary is found and a Docker engine is reachable, the
testcontainers backend runs the official image instead.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from slocheck.errors import PrometheusError
from slocheck.prom.scrape import ScrapeWaits, free_port, scrape_config, wait_ready

INSTALL_HINT = (
    "install Prometheus (Debian/Ubuntu: apt-get install prometheus), put it on PATH, "
    "or give --prometheus-url"
)
READY_TIMEOUT = 30.0


def find_binary() -> str | None:
    return shutil.which("prometheus")


class ManagedPrometheus(ScrapeWaits):
    """Start with :meth:`start` (or ``with``); :attr:`url` is where it answers."""

    def __init__(
        self,
        targets: Sequence[str] = (),
        *,
        job: str = "slocheck",
        scrape_interval: float = 1.0,
        metrics_path: str = "/metrics",
        storage_path: str | Path | None = None,
        binary: str | None = None,
        ready_timeout: float = READY_TIMEOUT,
        rule_files: Sequence[str | Path] = (),
    ) -> None:
        self.targets = list(targets)
        self.rule_files = [str(f) for f in rule_files]
        self.job = job
        self.scrape_interval = scrape_interval
        self.metrics_path = metrics_path
        self.binary = binary or find_binary()
        self.ready_timeout = ready_timeout
        self._storage = Path(storage_path) if storage_path else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""
        self.log_path: Path | None = None

    def start(self) -> ManagedPrometheus:
        if self.binary is None:
            raise PrometheusError("no prometheus binary found", hint=INSTALL_HINT)
        self._tmp = tempfile.TemporaryDirectory(prefix="slocheck-prom-")
        tmp = Path(self._tmp.name)
        config = tmp / "prometheus.yml"
        config.write_text(
            scrape_config(
                self.targets, self.job, self.scrape_interval, self.metrics_path, self.rule_files
            )
        )
        storage = self._storage or tmp / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "prometheus.log"
        args = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
            "--storage.tsdb.retention.time=30d",
        ]
        try:
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        except OSError as e:
            self.stop()
            raise PrometheusError(
                f"cannot start {self.binary}: {e.strerror or e}", hint=INSTALL_HINT
            ) from None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-1500:]

    def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None

        def exited() -> str | None:
            code = proc.poll()
            return None if code is None else f"exited with {code} during start-up"

        try:
            wait_ready(
                self.url + "/-/ready",
                self.ready_timeout,
                PrometheusError,
                what="prometheus",
                exited=exited,
                every=0.05,
            )
        except PrometheusError as e:
            raise PrometheusError(f"{e.message}: {self._log_tail()}") from None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise PrometheusError(
                f"the managed Prometheus ({self.url}) exited with {self._proc.returncode} "
                f"while slocheck needed it: {self._log_tail() or 'nothing in its log'}"
            )


def backfill(openmetrics: str, storage_path: str | Path, promtool: str | None = None) -> None:
    """Write ``openmetrics`` text (ending in ``# EOF``) into TSDB blocks under ``storage_path``
    with ``promtool tsdb create-blocks-from openmetrics``: exact, known data for tests."""
    tool = promtool or shutil.which("promtool")
    if tool is None:
        raise PrometheusError("no promtool binary found", hint=INSTALL_HINT)
    storage = Path(storage_path)
    storage.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".om", delete=False) as f:
        f.write(openmetrics)
        source = f.name
    try:
        done = subprocess.run(
            [tool, "tsdb", "create-blocks-from", "openmetrics", source, str(storage)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        Path(source).unlink(missing_ok=True)
    if done.returncode != 0:
        raise PrometheusError(f"promtool backfill failed: {done.stderr[-1500:]}")


def start_prometheus(
    targets: Sequence[str],
    *,
    job: str = "slocheck",
    scrape_interval: float = 1.0,
    metrics_path: str = "/metrics",
    rule_files: Sequence[str | Path] = (),
) -> ManagedPrometheus:
    """The local binary when there is one; else a container when Docker is reachable; else a
    :class:`PrometheusError` (exit 3) with an install hint. ``rule_files``: rules it evaluates
    (the local binary only)."""
    if find_binary() is not None:
        return ManagedPrometheus(
            targets,
            job=job,
            scrape_interval=scrape_interval,
            metrics_path=metrics_path,
            rule_files=rule_files,
        ).start()
    if rule_files:
        raise PrometheusError("loading rules needs the local prometheus binary", hint=INSTALL_HINT)
    from slocheck.prom.containers import ContainerPrometheus, docker_reachable

    if docker_reachable():
        return ContainerPrometheus(
            targets,
            job=job,  # type: ignore[return-value]
            scrape_interval=scrape_interval,
            metrics_path=metrics_path,
        ).start()
    raise PrometheusError(
        "no prometheus binary found and no Docker engine reachable", hint=INSTALL_HINT
    )
