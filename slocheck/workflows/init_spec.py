"""The spec ``slocheck init`` writes: from what a short probe measured, the rate, the number of
users and the SLOs, and their text with a comment on every choice.

Why these choices (docs/init.md):

* **rate**: half of what ONE connection sent, one request after another, in the probe (capped
  at ``MAX_RATE``). A server that serves requests in parallel serves more; one that does not
  serves at least that; half leaves room for a busier machine.
* **SLOs that decide**: two thirds of the load's planned requests (rate x duration) must
  reach :func:`slocheck.evaluate.search.samples_needed` of the SLOs: the highest
  availability objective and latency percentile of a short ladder that does (99% and P95
  when there are enough requests).
* **thresholds**: a multiple of the probe's P95 with a floor, rounded up to a round number and
  then to a bucket bound of the server's histogram (a threshold between two bounds cannot be
  judged exactly); past the largest finite bound the SLO is judged from the client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slocheck.evaluate.search import samples_needed
from slocheck.slofile import parse_spec
from slocheck.slofile.model import Api, SloSpec
from slocheck.slofile.presets.recognise import Recognition
from slocheck.units import format_duration

RATE_FRACTION = 0.5
MAX_RATE = 50.0
#: planned requests / MARGIN must decide: more room than capacity's 1.25, since the judged
#: window loses requests at its edges (the scrapes around the load's start and end: a 20 s run
#: at 50/s was judged on 776 of its 1,000 requests)
MARGIN = 1.5
AVAILABILITY_LADDER = (0.99, 0.95, 0.9, 0.8)
PERCENTILE_LADDER = (95, 90, 50)
LATENCY_MULTIPLE = 10.0
LATENCY_FLOOR_S = 0.25
TTFT_FLOOR_S = 0.5
OUTPUT_TOKENS = 16  # per request, in the probe and in the load (openai)

#: With no URL: the embedded reference service (``slocheck serve``), started by ``run``.
EMBEDDED_SPEC = """\
# Written by `slocheck init` with no --target-url: SLOs of the embedded reference service
# (slocheck serve), which `slocheck run --slo slos.yaml` starts for you with a managed
# Prometheus. Point `slocheck init --target-url URL` at your own service for a spec of its own.
version: 1
service:
  name: slocheck-demo
  model: classifier          # classify requests only
prometheus:
  # only the classify endpoint's series (the service's own /metrics scrapes are left out)
  selector: 'endpoint="/v1/classify"'
  scrape_interval: 500ms
load:
  users: 10
  rate: 50                   # requests/s, well below what the service serves on one core
  duration: 30s              # 1,500 requests: enough to decide P95 (200) and 99% (381)
  warmup: 5s
slos:
  - name: availability
    sli: availability
    objective: 99%
    description: share of requests not answered 5xx
  - name: p95-latency
    sli: latency
    percentile: 95
    threshold: 500ms
"""


@dataclass(frozen=True)
class Probe:
    """What ``init`` found at the target, and what its short load measured."""

    url: str
    api: Api
    model: str | None
    metrics_url: str | None  # where the metrics were read; None: nowhere
    prometheus_url: str | None
    recognition: Recognition | None
    requests: int  # sent one after another, every one answered well
    busy_s: float  # their latencies summed
    p95_s: float
    ttft_p95_s: float | None = None  # openai streams
    latency_bounds_s: tuple[float, ...] = ()  # the preset's latency histogram, seconds
    ttft_bounds_s: tuple[float, ...] = ()
    payload: str | None = None  # as the spec names it (relative to the spec's folder)
    method: str = "POST"  # http
    path: str = "/"  # http

    @property
    def preset(self) -> str | None:
        return None if self.recognition is None else self.recognition.preset.name

    @property
    def throughput(self) -> float:
        """Requests/s of one connection, one request after another."""
        return self.requests / self.busy_s if self.busy_s > 0 else math.inf


@dataclass(frozen=True)
class Choices:
    rate: float
    users: int
    duration: float
    warmup: float
    availability: float
    percentile: int
    latency_s: float
    latency_from_client: bool  # the server has no latency histogram, or it is too coarse
    ttft_s: float | None
    ttft_from_client: bool

    @property
    def planned(self) -> int:
        return int(self.rate * self.duration)


class CannotDecide(ValueError):
    """The duration is too short for any SLO of the ladders at the probe's rate."""

    def __init__(self, rate: float, duration: float, needed: int) -> None:
        self.rate, self.duration, self.needed = rate, duration, needed
        self.duration_needed = math.ceil(MARGIN * needed / rate)
        super().__init__(
            f"at {rate:g} requests/s, {format_duration(duration)} plans "
            f"{int(rate * duration)} requests; the SLOs need at least "
            f"{math.ceil(MARGIN * needed)} (the planned ones less a third): --duration "
            f"{self.duration_needed}s or more"
        )


def nice_up(x: float) -> float:
    """The round number at or above ``x``: 1, 2, 2.5 or 5 times a power of ten."""
    if x <= 0 or not math.isfinite(x):
        return x
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= x * (1 - 1e-9):
            return round(step * power, 12)
    return 10 * power  # pragma: no cover


def nice_down(x: float) -> float:
    """The round number at or below ``x`` (1, 2 or 5 times a power of ten)."""
    if x <= 0 or not math.isfinite(x):
        return x
    power = 10.0 ** math.floor(math.log10(x))
    for step in (5.0, 2.0, 1.0):
        if step * power <= x * (1 + 1e-9):
            return round(step * power, 12)
    return power  # pragma: no cover


def snap(threshold: float, bounds: tuple[float, ...], observed: float) -> tuple[float, bool]:
    """The threshold on the histogram's bound at or above it, and whether the SLO must be
    judged from the client instead (no bounds, or none above ``threshold`` and the largest
    below twice what was observed)."""
    if not bounds:
        return threshold, False
    above = [b for b in bounds if b >= threshold * (1 - 1e-9)]
    if above:
        return above[0], False
    largest = bounds[-1]
    if largest >= 2 * observed and largest > 0:
        return largest, False
    return threshold, True


def choose(probe: Probe, duration: float) -> Choices:
    """The load and the SLOs for ``probe``: see the module's docstring."""
    rate = min(MAX_RATE, nice_down(RATE_FRACTION * probe.throughput))
    usable = rate * duration / MARGIN
    availability = next((o for o in AVAILABILITY_LADDER if _needed(availability=o) <= usable), None)
    percentile = next((p for p in PERCENTILE_LADDER if _needed(percentile=p) <= usable), None)
    if availability is None or percentile is None:
        raise CannotDecide(rate, duration, max(_needed(availability=0.8), _needed(percentile=50)))
    # enough users that each one's paced share of the rate leaves room for 4x the P95
    users = max(2, min(100, math.ceil(rate * max(4 * probe.p95_s, 0.1))))
    has_latency = probe.recognition is not None and probe.recognition.preset.latency is not None
    latency, from_client = snap(
        nice_up(max(LATENCY_MULTIPLE * probe.p95_s, LATENCY_FLOOR_S)),
        probe.latency_bounds_s if has_latency else (),
        probe.p95_s,
    )
    ttft, ttft_client = None, False
    if probe.ttft_p95_s is not None:
        has_ttft = probe.recognition is not None and probe.recognition.preset.ttft is not None
        ttft, ttft_client = snap(
            nice_up(max(LATENCY_MULTIPLE * probe.ttft_p95_s, TTFT_FLOOR_S)),
            probe.ttft_bounds_s if has_ttft else (),
            probe.ttft_p95_s,
        )
    return Choices(
        rate=rate,
        users=users,
        duration=duration,
        warmup=min(5.0, max(1.0, duration / 10)),
        availability=availability,
        percentile=percentile,
        latency_s=latency,
        latency_from_client=from_client,
        ttft_s=ttft,
        ttft_from_client=ttft_client,
    )


def _needed(*, availability: float | None = None, percentile: int | None = None) -> int:
    fields: dict[str, object] = {"name": "x"}
    if availability is not None:
        fields |= {"sli": "availability", "objective": availability}
    else:
        fields |= {"sli": "latency", "percentile": percentile, "threshold": 1.0}
    return samples_needed([SloSpec.model_validate(fields)])


def _pct(ratio: float) -> str:
    return f"{ratio * 100:g}%"


def _target_lines(p: Probe) -> list[str]:
    lines = ["target:", f"  url: {p.url}", f"  api: {p.api}"]
    if p.model is not None and p.api in ("openai", "kserve-v2"):
        lines.append(f"  model: {p.model}")
    if p.api == "http":
        lines += [f"  method: {p.method}", f"  path: {p.path}"]
    if p.metrics_url is not None and p.metrics_url.rstrip("/") != p.url.rstrip("/") + "/metrics":
        lines.append(f"  metrics_url: {p.metrics_url}")
    ready = {"openai": "/v1/models", "kserve-v2": "/v2/health/ready"}.get(p.api)
    if p.preset == "llamacpp":
        ready = "/health"
    if ready is not None:
        lines.append(f"  ready_path: {ready}")
    return lines


def _prometheus_lines(p: Probe) -> list[str]:
    lines = ["prometheus:"]
    if p.prometheus_url is not None:
        lines += [
            f"  url: {p.prometheus_url}",
            "  # add selector: 'job=\"...\"' naming this service's scrape job",
        ]
    if p.recognition is not None:
        r = p.recognition
        lines.append(
            f"  preset: {r.preset.name}   # recognised by "
            + ", ".join(r.found[:2])
            + (f" and {len(r.found) - 2} more" if len(r.found) > 2 else "")
        )
    else:
        lines.append("  # no preset: no known server's metrics were found; SLIs from the client")
    if p.preset == "slocheck":
        lines.append("  selector: 'endpoint=\"/v1/classify\"'   # the classify requests only")
    lines.append("  scrape_interval: 1s")
    return lines


def _load_lines(p: Probe, c: Choices) -> list[str]:
    lines = [
        "load:",
        f"  users: {c.users}",
        f"  rate: {c.rate:g}                 # requests/s: {RATE_FRACTION:g} x the "
        f"{p.throughput:.3g}/s one connection sent in the probe",
        f"  duration: {format_duration(c.duration)}             # ~{c.planned} requests",
        f"  warmup: {format_duration(c.warmup)}",
    ]
    if p.payload is not None and p.api in ("kserve-v2", "http"):
        lines.append(f"  payload: {p.payload}")
    if p.api == "openai":
        lines += [
            "  input_tokens: {mean: 32, stddev: 8}",
            f"  output_tokens: {{mean: {OUTPUT_TOKENS}, stddev: 0}}",
        ]
    return lines


def _slo_lines(p: Probe, c: Choices) -> list[str]:
    usable = int(c.planned / MARGIN)
    client = ["    source: client"] if p.recognition is None else []
    lines = [
        "slos:",
        f"  # each decides with {usable} requests (the planned ones less a third)",
        "  - name: availability",
        "    sli: availability",
        f"    objective: {_pct(c.availability)}"
        f"       # needs {_needed(availability=c.availability)} requests without an error",
        *client,
        f"  - name: p{c.percentile}-latency",
        "    sli: latency",
        f"    percentile: {c.percentile}           # needs {_needed(percentile=c.percentile)}",
        f"    threshold: {format_duration(c.latency_s)}"
        f"          # the probe's P95 was {format_duration(p.p95_s)}: tighten when you know more",
    ]
    if c.latency_from_client or p.recognition is None:
        lines.append(
            "    source: client"
            + ("         # beyond the server histogram's largest bound" if p.recognition else "")
        )
    if c.ttft_s is not None and p.ttft_p95_s is not None:
        lines += [
            f"  - name: ttft-p{c.percentile}",
            "    sli: ttft",
            f"    percentile: {c.percentile}",
            f"    threshold: {format_duration(c.ttft_s)}"
            f"          # the probe's P95 was {format_duration(p.ttft_p95_s)}",
        ]
        if c.ttft_from_client or p.recognition is None:
            lines.append("    source: client")
    return lines


def spec_text(probe: Probe, choices: Choices, command: str) -> str:
    """The commented spec for ``probe``; ``command`` is the init command line (a comment)."""
    server = probe.recognition.preset.description if probe.recognition else "unrecognised server"
    head = [
        f"# Written by `{command}`.",
        f"# Server: {server}, {probe.api} API.",
        f"# The probe sent {probe.requests} requests one after another: "
        f"P95 {format_duration(probe.p95_s)}, {probe.throughput:.3g} requests/s.",
        "# A starting point: the thresholds are loose multiples of what the probe measured; "
        "tighten them",
        "# to what your users need, and check with `slocheck validate --slo FILE`.",
        "version: 1",
    ]
    body = [
        *head,
        *(
            ["service:", "  model: classifier        # the classify requests"]
            if probe.api == "slocheck"
            else []
        ),
        *_target_lines(probe),
        *_prometheus_lines(probe),
        *_load_lines(probe, choices),
        *_slo_lines(probe, choices),
    ]
    text = "\n".join(body) + "\n"
    check(text)
    return text


def check(text: str) -> None:
    """What init writes must validate and decide: a bug otherwise, never a silent bad spec."""
    loaded = parse_spec(text, "<init>")
    spec = loaded.spec
    rate, duration = spec.load.rate or 0.0, spec.load.duration
    if samples_needed(spec.slos) > rate * duration / MARGIN:  # pragma: no cover - a bug
        raise AssertionError("init wrote SLOs its load cannot decide")
