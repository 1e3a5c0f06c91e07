"""What every Prometheus that slocheck starts shares (the local binary in ``managed``, the
container in ``containers``): the generated scrape configuration, the readiness poller, the
start/stop lifecycle and the waits for scrapes. Both backends import it; it imports neither."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

import httpx

from slocheck.errors import InfrastructureError, PrometheusError

_T = TypeVar("_T", bound="Lifecycle")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(
    probe: str,
    timeout: float,
    error: type[InfrastructureError],
    *,
    what: str,
    accept: Callable[[int], bool] = lambda status: 200 <= status < 300,
    exited: Callable[[], str | None] = lambda: None,
    every: float = 0.1,
    hint: str | None = None,
) -> None:
    """Poll ``GET probe`` every ``every`` seconds until ``accept(status)``. Raise ``error``
    (exit 3) when ``exited`` says why the process is gone, or after ``timeout`` seconds with
    the last probe's outcome. ``what`` names the server in the messages."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if (why := exited()) is not None:
            raise error(f"{what} {why}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error(f"{what} at {probe} was not ready within {timeout:g} s ({last})", hint=hint)
        try:
            status = httpx.get(probe, timeout=min(2.0, max(remaining, 0.05))).status_code
            if accept(status):
                return
            last = f"the last probe answered {status}"
        except httpx.HTTPError as e:
            last = f"the last probe: {type(e).__name__}: {e}" if str(e) else type(e).__name__
        time.sleep(min(every, max(remaining, 0.0)))


def scrape_config(
    targets: Sequence[str],
    job: str,
    interval: float,
    metrics_path: str = "/metrics",
    rule_files: Sequence[str] = (),
) -> str:
    """A minimal prometheus.yml scraping ``targets`` (host:port) every ``interval`` seconds, at
    ``metrics_path``; with ``rule_files``, evaluating their rules at the same interval."""
    interval_text = f"{max(round(interval * 1000), 100)}ms"
    lines = [
        "global:",
        f"  scrape_interval: {interval_text}",
        f"  scrape_timeout: {interval_text}",
    ]
    if rule_files:
        lines += [f"  evaluation_interval: {interval_text}", "rule_files:"]
        lines += [f"  - {json.dumps(str(f))}" for f in rule_files]
    lines += ["scrape_configs:"]
    if targets:
        quoted = ", ".join(f'"{t}"' for t in targets)
        lines += [f"  - job_name: {job!r}"]
        if metrics_path != "/metrics":
            lines += [f"    metrics_path: {json.dumps(metrics_path)}"]
        lines += ["    static_configs:", f"      - targets: [{quoted}]"]
    else:
        lines[-1] = "scrape_configs: []"
    return "\n".join(lines) + "\n"


class Lifecycle:
    """``with X(...) as x``: ``start()`` on entry, ``stop()`` on exit, errors and Ctrl-C."""

    def start(self: _T) -> _T:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _T) -> _T:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ScrapeWaits(Lifecycle):
    """Waiting for scrapes; for any Prometheus that scrapes ``job`` and answers at ``url``."""

    url: str
    job: str
    targets: list[str]
    scrape_interval: float

    def newest_scrape(self) -> float | None:
        """Time of the newest scrape of our job, or None when none is there yet."""
        try:
            r = httpx.get(
                self.url + "/api/v1/query",
                timeout=5.0,
                params={"query": f'max(timestamp(up{{job="{self.job}"}}))'},
            )
            result = r.json()["data"]["result"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None
        if not result:
            return None
        try:
            return float(result[0]["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    def check_alive(self) -> None:
        """Raise PrometheusError when this Prometheus is known to have stopped."""

    def wait_for_scrape_after(self, t: float, timeout: float | None = None) -> float:
        """Block until a scrape newer than ``t`` is stored; return its time."""
        limit = timeout if timeout is not None else max(10.0, 5 * self.scrape_interval)
        deadline = time.monotonic() + limit
        while True:
            self.check_alive()
            newest = self.newest_scrape()
            if newest is not None and newest > t:
                return newest
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"no scrape of {self.targets} after {t:.3f} within "
                    f"{limit:g} s (newest: {newest})"
                )
            time.sleep(min(0.05, self.scrape_interval / 4))  # a run's end waits on this
