"""What every Prometheus that slocheck starts shares (the local binary in ``managed``, the
container in ``containers``): the generated scrape configuration and the waits for scrapes.
Both backends import it; it imports neither. Starting, waiting for and stopping the process is
:mod:`slocheck.supervise`'s."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import httpx

from slocheck.errors import PrometheusError
from slocheck.supervise import Lifecycle


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
