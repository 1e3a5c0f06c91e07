"""``slocheck init``: probe a target and write a spec for it (docs/init.md).

The probe is bounded and goes only to the URLs given: a few GETs to learn the API
(``/v1/models``, ``/v2/health/ready``) and the metric names (``/metrics``, or the Prometheus's
list of names), then ``requests`` requests one after another, each with ``timeout``, every one of
which must be answered well. The text (``workflows.init_spec``) is validated before it is
written; an existing file is kept unless ``force``.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from slocheck.errors import InfrastructureError, UsageError
from slocheck.load.locustfiles.bodies import read_payload
from slocheck.prom.client import redact_url
from slocheck.report import write_atomic
from slocheck.slofile.model import Api
from slocheck.slofile.presets.recognise import (
    Recognition,
    bucket_bounds,
    exposition_names,
    recognise,
)
from slocheck.units import format_duration
from slocheck.workflows.init_spec import (
    EMBEDDED_SPEC,
    OUTPUT_TOKENS,
    CannotDecide,
    Choices,
    Probe,
    check,
    choose,
    spec_text,
)

MAX_PROBE_REQUESTS = 200


@dataclass(frozen=True)
class InitOptions:
    target_url: str | None = None
    prometheus_url: str | None = None
    metrics_url: str | None = None  # default: target_url + /metrics
    model: str | None = None
    payload: Path | None = None  # kserve-v2 / http bodies (JSON, or JSONL in turn)
    path: str = "/"  # http
    duration: float = 60.0
    requests: int = 20
    timeout: float = 10.0
    command: str = "slocheck init"


@dataclass(frozen=True)
class InitResult:
    path: Path
    text: str
    probe: Probe | None  # None: the embedded default
    choices: Choices | None
    notes: tuple[str, ...] = ()


def init(options: InitOptions, out: Path, *, force: bool = False) -> InitResult:
    if out.exists() and not force:
        raise UsageError(f"{out} exists: --force to overwrite it, or --out another file")
    if not 1 <= options.requests <= MAX_PROBE_REQUESTS:
        raise UsageError(f"--probe-requests: expected 1 to {MAX_PROBE_REQUESTS}")
    if options.target_url is None:
        check(EMBEDDED_SPEC)
        write_atomic(out, EMBEDDED_SPEC)
        return InitResult(out, EMBEDDED_SPEC, None, None)
    probe, notes = run_probe(options, out.parent)
    try:
        choices = choose(probe, options.duration)
    except CannotDecide as e:
        raise UsageError(str(e)) from None
    text = spec_text(probe, choices, options.command)
    write_atomic(out, text)
    return InitResult(out, text, probe, choices, tuple(notes))


def _get(client: httpx.Client, url: str) -> httpx.Response | None:
    try:
        return client.get(url)
    except httpx.HTTPError:
        return None


def _metric_text(
    client: httpx.Client, o: InitOptions, base: str, notes: list[str]
) -> tuple[str | None, str, frozenset[str]]:
    """(where the names came from, the exposition text or "", the names)."""
    metrics_url = o.metrics_url or base + "/metrics"
    r = _get(client, metrics_url)
    if r is not None and r.status_code == 200:
        return metrics_url, r.text, exposition_names(r.text)
    notes.append(
        f"{redact_url(metrics_url)} answered "
        + ("nothing" if r is None else f"{r.status_code}")
        + (": its metrics may be on another port (--metrics-url)" if o.metrics_url is None else "")
    )
    if o.prometheus_url:
        url = o.prometheus_url.rstrip("/") + "/api/v1/label/__name__/values"
        r = _get(client, url)
        try:
            data = r.json()["data"] if r is not None and r.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            data = None
        if isinstance(data, list):
            return None, "", frozenset(str(n) for n in data)
        notes.append(f"{redact_url(o.prometheus_url)} did not list metric names")
    return None, "", frozenset()


def _api(
    client: httpx.Client, o: InitOptions, base: str, recognition: Recognition | None
) -> tuple[Api, str | None]:
    """The API and the model, from the preset and what the target answers."""
    if recognition is not None and recognition.preset.name == "slocheck":
        return "slocheck", None
    r = _get(client, base + "/v1/models")
    if r is not None and r.status_code == 200:
        try:
            ids = [m["id"] for m in r.json()["data"]]
        except (ValueError, KeyError, TypeError):
            ids = []
        if ids or o.model:
            return "openai", o.model or str(ids[0])
    r = _get(client, base + "/v2/health/ready")
    if r is not None and r.status_code == 200:
        return "kserve-v2", o.model or _kserve_model(client, base)
    return "http", None


def _kserve_model(client: httpx.Client, base: str) -> str:
    """The first ready model of the repository index (MLServer, Triton), else --model."""
    try:
        r = client.post(base + "/v2/repository/index", json={"ready": True})
        names = [m["name"] for m in r.json() if m.get("state", "READY") == "READY"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        names = []
    if not names:
        raise UsageError(
            "the target speaks KServe v2 but lists no ready model: name it with --model"
        )
    return str(names[0])


def run_probe(o: InitOptions, spec_dir: Path) -> tuple[Probe, list[str]]:
    assert o.target_url is not None
    base = o.target_url.rstrip("/")
    notes: list[str] = []
    with httpx.Client(timeout=o.timeout, follow_redirects=False) as client:
        if _get(client, base + "/") is None and _get(client, base + "/health") is None:
            raise InfrastructureError(f"{redact_url(base)} does not answer (is it running?)")
        metrics_url, text, names = _metric_text(client, o, base, notes)
        recognition = recognise(names) if names else None
        api, model = _api(client, o, base, recognition)
        bodies = read_payload_or_none(o.payload)
        if api == "kserve-v2" and bodies is None:
            raise UsageError(
                f"{redact_url(base)} speaks KServe v2: its request bodies depend on the model, "
                "give some with --payload FILE (JSON, or JSON lines sent in turn)"
            )
        send = _sender(client, base, api, model, o, bodies)
        latencies, ttfts = _measure(send, o.requests, base)
        if metrics_url is not None:  # again: some servers register their series on first use
            r = _get(client, metrics_url)
            if r is not None and r.status_code == 200:
                text = r.text
                names |= exposition_names(text)
                recognition = recognise(names)
    latency_bounds: tuple[float, ...] = ()
    ttft_bounds: tuple[float, ...] = ()
    if recognition is not None and text:
        from slocheck.slofile.model import UNIT_SECONDS

        for hist, out in ((recognition.preset.latency, "l"), (recognition.preset.ttft, "t")):
            if hist is None:
                continue
            bounds = tuple(b * UNIT_SECONDS[hist.unit] for b in bucket_bounds(text, hist.metric))
            if out == "l":
                latency_bounds = bounds
            else:
                ttft_bounds = bounds
    payload = None
    if o.payload is not None and bodies is not None:
        payload = os.path.relpath(o.payload.resolve(), spec_dir.resolve())
    probe = Probe(
        url=base,
        api=api,
        model=model,
        metrics_url=metrics_url,
        prometheus_url=o.prometheus_url,
        recognition=recognition,
        requests=len(latencies),
        busy_s=sum(latencies),
        p95_s=_p95(latencies),
        ttft_p95_s=_p95(ttfts) if ttfts else None,
        latency_bounds_s=latency_bounds,
        ttft_bounds_s=ttft_bounds,
        payload=payload,
        method="POST" if bodies else "GET",
        path=o.path,
    )
    return probe, notes


def read_payload_or_none(path: Path | None) -> list[bytes] | None:
    if path is None:
        return None
    try:
        return read_payload(path)
    except ValueError as e:
        raise UsageError(f"--payload {path}: {e}") from None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


Send = Callable[[int], tuple[float, float | None]]  # request i -> (latency, TTFT or None)

_rng = random.Random(0)
_IMAGE = [[round(_rng.random(), 3) for _ in range(28)] for _ in range(28)]


def _sender(
    client: httpx.Client,
    base: str,
    api: Api,
    model: str | None,
    o: InitOptions,
    bodies: list[bytes] | None,
) -> Send:
    def timed(method: str, url: str, content: bytes | None) -> tuple[float, float | None]:
        headers = {"Content-Type": "application/json"} if content is not None else {}
        start = time.perf_counter()
        r = client.request(method, url, content=content, headers=headers)
        _ok(r, url)
        return time.perf_counter() - start, None

    def stream(i: int) -> tuple[float, float | None]:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": f"Say hello ({i})."}],
            "max_tokens": OUTPUT_TOKENS,
            "stream": True,
        }
        url = base + "/v1/chat/completions"
        start = time.perf_counter()
        first: float | None = None
        with client.stream("POST", url, json=body) as r:
            _ok(r, url)
            for line in r.iter_lines():
                if first is None and line.startswith("data:") and "[DONE]" not in line:
                    first = time.perf_counter() - start
        total = time.perf_counter() - start
        return total, first if first is not None else total

    if api == "openai":
        return stream
    if api == "slocheck":
        image = json.dumps({"pixels": _IMAGE}).encode()
        return lambda i: timed("POST", base + "/v1/classify", image)
    if api == "kserve-v2":
        assert bodies
        return lambda i: timed("POST", f"{base}/v2/models/{model}/infer", bodies[i % len(bodies)])
    if bodies:
        return lambda i: timed("POST", base + o.path, bodies[i % len(bodies)])
    return lambda i: timed("GET", base + o.path, None)


def _ok(r: httpx.Response, url: str) -> None:
    if r.status_code >= 400:
        r.read()
        raise InfrastructureError(
            f"the probe's request to {redact_url(url)} was answered {r.status_code} "
            f"({r.text[:200]!r}): a spec measured on failing requests would not pass; "
            "check --model, --payload and --path"
        )


def _measure(send: Send, n: int, base: str) -> tuple[list[float], list[float]]:
    """One unmeasured request (a cold model), then ``n`` measured, one after another."""
    latencies: list[float] = []
    ttfts: list[float] = []
    try:
        _once_more_on_a_closed_connection(send, -1)
        for i in range(n):
            latency, ttft = _once_more_on_a_closed_connection(send, i)
            latencies.append(latency)
            if ttft is not None:
                ttfts.append(ttft)
    except httpx.HTTPError as e:
        raise InfrastructureError(
            f"the probe of {redact_url(base)} failed after {len(latencies)} requests: "
            f"{type(e).__name__}: {e}"
        ) from None
    return latencies, ttfts


def _once_more_on_a_closed_connection(send: Send, i: int) -> tuple[float, float | None]:
    """``send(i)``, again once if the server had closed the kept-alive connection before the
    request went out (llama-server closes idle ones): that request never reached it."""
    try:
        return send(i)
    except httpx.RemoteProtocolError as e:
        if "without sending a response" not in str(e):
            raise
        return send(i)


def describe(result: InitResult) -> list[str]:
    """What init found and chose, as lines to print."""
    p, c = result.probe, result.choices
    if p is None or c is None:
        return [f"wrote {result.path}: the embedded reference service (slocheck serve)"]
    lines = [
        f"target {redact_url(p.url)}: {p.api} API"
        + (f", model {p.model}" if p.model else "")
        + (
            f", preset {p.preset}"
            if p.preset
            else ", no known server's metrics (SLIs from the client)"
        ),
        f"probe: {p.requests} requests, P95 {format_duration(p.p95_s)}, "
        f"{p.throughput:.3g} requests/s on one connection",
        f"wrote {result.path}: {c.rate:g} requests/s for {format_duration(c.duration)}, "
        f"availability {c.availability * 100:g}%, P{c.percentile} latency "
        f"<= {format_duration(c.latency_s)}",
    ]
    return lines + list(result.notes)
