"""A Prometheus that slocheck starts and stops itself.

The local ``prometheus`` binary (Debian's package) on a free loopback port with a generated
config (1 s scrapes) and temporary storage; or, on an existing TSDB directory (a backfilled one),
with no scrape targets. When no binary is found and a Docker engine is reachable, the
testcontainers backend runs the official image instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import yaml

from slocheck.errors import PrometheusError
from slocheck.prom.scrape import ScrapeWaits, scrape_config
from slocheck.supervise import exited, free_port, spawn, stop_process, wait_ready

INSTALL_HINT = (
    "install Prometheus (Debian/Ubuntu: apt-get install prometheus), put it on PATH, "
    "or give --prometheus-url"
)
READY_TIMEOUT = 30.0
#: The temporary folder of a managed Prometheus: ``slocheck-prom-<owner's pid>-<random>``
TMP_PREFIX = "slocheck-prom-"
#: Starts the process: its arguments and its log file (``ManagedPrometheus(launch=...)``).
Launch = Callable[[list[str], Path], "subprocess.Popen[bytes]"]


def find_binary() -> str | None:
    return shutil.which("prometheus")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_folders(root: str | Path | None = None) -> list[Path]:
    """Remove the temporary folders that managed Prometheuses of slocheck processes that are no
    longer alive left behind (a slocheck killed by SIGKILL never cleaned up). Returns them."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for folder in base.glob(TMP_PREFIX + "*-*"):
        owner = folder.name[len(TMP_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or _alive(int(owner)) or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder)
    return removed


def _launch(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The default: a plain child, in slocheck's process group."""
    return spawn(args, log=log, detached=False)


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
        ready_timeout: float = READY_TIMEOUT,
        rule_files: Sequence[str | Path] = (),
        launch: Launch | None = None,
    ) -> None:
        """``launch``: how the process starts (default: a plain child); ``slocheck run`` passes
        one that makes the kernel stop it when slocheck dies, even by SIGKILL."""
        self.targets = list(targets)
        self.launch = launch or _launch
        # absolute: Prometheus resolves a relative path against its own config's folder (a
        # temporary one), where it would find nothing and load no rule, silently
        self.rule_files = [str(Path(f).expanduser().absolute()) for f in rule_files]
        self.job = job
        self.scrape_interval = scrape_interval
        self.metrics_path = metrics_path
        self.binary = find_binary()  # where there is none: an install hint at start()
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
        remove_stale_folders()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}{os.getpid()}-")
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
            self._proc = self.launch(args, self.log_path)
        except OSError as e:
            self.stop()
            raise PrometheusError(
                f"cannot start {self.binary}: {e.strerror or e}", hint=INSTALL_HINT
            ) from None
        try:
            self._wait_ready()
            self._wait_rules()
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-1500:]

    def _wait_ready(self) -> None:
        assert self._proc is not None
        try:
            wait_ready(
                self.url + "/-/ready",
                self.ready_timeout,
                PrometheusError,
                what="prometheus",
                exited=exited(self._proc),
                every=0.05,
            )
        except PrometheusError as e:
            tail = self._log_tail()
            if self.rule_files and "error loading rules" in tail:
                raise PrometheusError(
                    f"prometheus refused the rules in {', '.join(self.rule_files)}: {tail}",
                    hint="check them with: promtool check rules FILE",
                ) from None
            raise PrometheusError(f"{e.message}: {tail}") from None

    def _wait_rules(self) -> None:
        """Until ``/api/v1/rules`` lists every group of :attr:`rule_files` (a file Prometheus
        refused: it exits at start-up, named with its log); a PrometheusError after
        ``ready_timeout``."""
        if not self.rule_files:
            return
        wanted = {g for f in self.rule_files for g in rule_groups(f)}
        proc = self._proc
        deadline = time.monotonic() + self.ready_timeout
        listed: set[str] = set()
        while True:
            if proc is not None and proc.poll() is not None:
                raise PrometheusError(
                    f"prometheus refused the rules in {', '.join(self.rule_files)} (it exited "
                    f"with {proc.returncode}): {self._log_tail() or 'nothing in its log'}",
                    hint="check them with: promtool check rules FILE",
                )
            listed = loaded_groups(self.url)
            if wanted <= listed:
                return
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(wanted - listed))
                raise PrometheusError(
                    f"prometheus did not load the rule groups {missing} of "
                    f"{', '.join(self.rule_files)} within {self.ready_timeout:g} s: "
                    f"{self._log_tail() or 'nothing in its log'}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, SIGKILL after 10 s; at once when a stop signal interrupts the wait."""
        proc, self._proc = self._proc, None
        tmp, self._tmp = self._tmp, None
        try:
            if proc is not None:
                stop_process(proc, timeout=10.0)
        finally:
            if tmp is not None:
                tmp.cleanup()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise PrometheusError(
                f"the managed Prometheus ({self.url}) exited with {self._proc.returncode} "
                f"while slocheck needed it: {self._log_tail() or 'nothing in its log'}"
            )


def rule_groups(path: str | Path) -> list[str]:
    """The names of the rule groups in a Prometheus rules file (none when it cannot be read:
    Prometheus then refuses it, which :meth:`ManagedPrometheus.start` reports)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return []
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return []
    return [str(g["name"]) for g in groups if isinstance(g, dict) and "name" in g]


def loaded_groups(url: str) -> set[str]:
    """The rule groups that the Prometheus at ``url`` lists (``/api/v1/rules``); none when it
    does not answer (yet)."""
    try:
        body = httpx.get(url + "/api/v1/rules", timeout=5.0).json()
        groups = body["data"]["groups"]
        return {str(g["name"]) for g in groups}
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return set()


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
    launch: Launch | None = None,
) -> ManagedPrometheus:
    """The local binary when there is one; else a container when Docker is reachable; else a
    :class:`PrometheusError` (exit 3) with an install hint. ``rule_files``: rules it evaluates
    (the local binary only); ``launch``: how the local binary starts (see
    :class:`ManagedPrometheus`)."""
    if find_binary() is not None:
        return ManagedPrometheus(
            targets,
            job=job,
            scrape_interval=scrape_interval,
            metrics_path=metrics_path,
            rule_files=rule_files,
            launch=launch,
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
