"""``slocheck compare --canary-selector``: fetch two deployments' series from one Prometheus
over the same window and judge them with the canary rule (``slocheck.regress.deployments``)."""

from __future__ import annotations

from slocheck.evaluate import Window
from slocheck.prom.client import PromClient
from slocheck.promql import selector
from slocheck.regress.deployments import CanaryResult, Deployment, deployment, judge_canary
from slocheck.slofile import Spec
from slocheck.workflows.verify import lookback

__all__ = ["CanaryResult", "Deployment", "canary_analysis", "measure"]


def measure(client: PromClient, spec: Spec, sel: str, window: Window) -> Deployment:
    back = lookback(spec.prometheus.scrape_interval)
    requests = client.fetch_samples(
        selector("http_requests_total", sel), window.start - back, window.read_until
    )
    buckets = client.fetch_samples(
        selector("http_request_duration_seconds_bucket", sel),
        window.start - back,
        window.read_until,
    )
    return deployment(sel, requests, buckets, window)


def canary_analysis(
    client: PromClient, spec: Spec, window: Window, baseline_selector: str, canary_selector: str
) -> CanaryResult:
    base = measure(client, spec, baseline_selector, window)
    can = measure(client, spec, canary_selector, window)
    return judge_canary(base, can, spec.regression)
