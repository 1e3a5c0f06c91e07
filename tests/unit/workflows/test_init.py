"""``slocheck init``: the choices from a probe, the spec text (it validates and decides), and
the probe against small in-process HTTP servers that answer like the real ones (the real
servers: tests/integration/test_init.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from slocheck.errors import InfrastructureError, UsageError
from slocheck.evaluate.search import samples_needed
from slocheck.slofile import parse_spec
from slocheck.slofile.presets import PRESETS
from slocheck.slofile.presets.recognise import Recognition
from slocheck.workflows.init import InitOptions, init
from slocheck.workflows.init_spec import (
    EMBEDDED_SPEC,
    MARGIN,
    CannotDecide,
    Probe,
    choose,
    nice_down,
    nice_up,
    snap,
    spec_text,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"


def _probe(preset: str | None = "mlserver", **kw: object) -> Probe:
    recognition = None if preset is None else Recognition(PRESETS[preset], ("x",), ())
    fields: dict[str, object] = {
        "url": "http://127.0.0.1:8080",
        "api": "kserve-v2",
        "model": "iris",
        "metrics_url": "http://127.0.0.1:8082/metrics",
        "prometheus_url": None,
        "recognition": recognition,
        "requests": 20,
        "busy_s": 0.2,  # 100 requests/s on one connection
        "p95_s": 0.012,
        "payload": "iris.jsonl",
    }
    fields.update(kw)
    return Probe(**fields)  # type: ignore[arg-type]


def test_round_numbers() -> None:
    assert [nice_up(x) for x in (0.12, 0.25, 0.26, 3, 7)] == [0.2, 0.25, 0.5, 5, 10]
    assert [nice_down(x) for x in (0.7, 3.3, 50, 99)] == [0.5, 2, 50, 50]


def test_rate_is_half_one_connection_capped_and_slos_decide() -> None:
    c = choose(_probe(), 60.0)
    assert c.rate == 50  # half of 100/s
    assert c.availability == 0.99 and c.percentile == 95
    assert c.latency_s == 0.25  # 10 x 12 ms -> 120 ms, floor 250 ms
    assert choose(_probe(busy_s=0.02), 60.0).rate == 50  # 1,000/s: capped
    slow = choose(_probe(busy_s=20.0, p95_s=1.2), 60.0)  # 1 request/s
    assert slow.rate == 0.5
    # 30 requests: 24 usable; P50 needs 20, 80% availability 16 (99% would need 381)
    assert (slow.availability, slow.percentile) == (0.8, 50)
    assert slow.latency_s == 20.0  # 10 x 1.2 s -> 12 s, rounded up to 20 s


def test_a_duration_too_short_to_decide_names_the_one_that_does() -> None:
    with pytest.raises(CannotDecide, match=r"--duration \d+s or more"):
        choose(_probe(busy_s=20.0, p95_s=1.2), 10.0)


def test_thresholds_snap_to_the_histograms_bounds() -> None:
    bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
    assert snap(0.3, bounds, 0.01) == (0.5, False)
    assert snap(0.25, bounds, 0.01) == (0.25, False)
    assert snap(20.0, bounds, 1.0) == (10.0, False)  # the largest is still 10x the P95
    assert snap(20.0, bounds, 8.0) == (20.0, True)  # too close to the P95: judged by the client
    assert snap(0.3, (), 0.01) == (0.3, False)
    probe = _probe(latency_bounds_s=(0.1, 0.5, 1.0), p95_s=0.03)
    assert choose(probe, 60.0).latency_s == 0.5  # 300 ms -> the bound above


@pytest.mark.parametrize("preset", [*PRESETS, None])
def test_the_spec_text_validates_and_its_slos_decide_at_its_rate(preset: str | None) -> None:
    api = "openai" if preset in ("vllm", "tgi", "llamacpp") else "kserve-v2"
    probe = _probe(preset, api=api, model="m", ttft_p95_s=0.05 if api == "openai" else None)
    text = spec_text(probe, choose(probe, 30.0), "slocheck init --target-url URL")
    spec = parse_spec(text).spec
    assert spec.prometheus.preset == preset
    assert spec.target is not None and spec.target.api == api
    assert samples_needed(spec.slos) * MARGIN <= (spec.load.rate or 0) * spec.load.duration
    assert text.startswith("# Written by `slocheck init")
    if preset is None:  # no server series to read: every SLO from the load generator
        assert all(s.source == "client" for s in spec.slos)
    if api == "openai":
        assert "ttft" in {s.sli for s in spec.slos}


def test_the_embedded_default_validates_and_decides() -> None:
    spec = parse_spec(EMBEDDED_SPEC).spec
    assert spec.target is None  # run starts slocheck serve
    assert samples_needed(spec.slos) * MARGIN <= (spec.load.rate or 0) * spec.load.duration


def test_no_url_writes_the_embedded_default_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "slos.yaml"
    result = init(InitOptions(), out)
    assert out.read_text() == EMBEDDED_SPEC and result.probe is None
    out.write_text("mine\n")
    with pytest.raises(UsageError, match="--force"):
        init(InitOptions(), out)
    assert out.read_text() == "mine\n"
    init(InitOptions(), out, force=True)
    assert out.read_text() == EMBEDDED_SPEC


class _Fake(BaseHTTPRequestHandler):
    """A server whose answers the test sets: {(method, path): (status, content type, body)}."""

    routes: ClassVar[dict[tuple[str, str], tuple[int, str, bytes]]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    drop: ClassVar[list[str]] = []  # paths whose next request is dropped unanswered, once

    def _answer(self) -> None:
        self.seen.append((self.command, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path in self.drop:
            self.drop.remove(self.path)
            self.close_connection = True  # as a server that closed an idle kept-alive one
            return
        status, kind, body = self.routes.get((self.command, self.path), (404, "text/plain", b""))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[tuple[str, type[_Fake]]]:
    handler = type("Handler", (_Fake,), {"routes": {}, "seen": [], "drop": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_probe_of_an_openai_server_recognised_as_vllm(
    tmp_path: Path, fake: tuple[str, type[_Fake]]
) -> None:
    url, handler = fake
    stream = b'data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
    handler.routes = {
        ("GET", "/"): (200, "text/plain", b"ok"),
        ("GET", "/metrics"): (200, "text/plain", (FIXTURES / "vllm.prom").read_bytes()),
        ("GET", "/v1/models"): (200, "application/json", b'{"data":[{"id":"qwen"}]}'),
        ("POST", "/v1/chat/completions"): (200, "text/event-stream", stream),
    }
    result = init(InitOptions(target_url=url, requests=5, duration=60.0), tmp_path / "s.yaml")
    spec = parse_spec((tmp_path / "s.yaml").read_text()).spec
    assert spec.prometheus.preset == "vllm" and spec.target is not None
    assert (spec.target.api, spec.target.model) == ("openai", "qwen")
    assert {s.sli for s in spec.slos} == {"availability", "latency", "ttft"}
    assert result.probe is not None and result.probe.requests == 5
    # bounded and only to the given URL: 1 unmeasured + 5 measured completions
    assert sum(1 for m, p in handler.seen if p == "/v1/chat/completions") == 6


def test_probe_of_a_plain_http_service_with_otel_metrics(
    tmp_path: Path, fake: tuple[str, type[_Fake]]
) -> None:
    url, handler = fake
    handler.routes = {
        ("GET", "/"): (200, "text/plain", b"ok"),
        ("GET", "/metrics"): (200, "text/plain", (FIXTURES / "otel-http.prom").read_bytes()),
    }
    # the "is anything there" GET and then the first probe request find their connection
    # closed (as llama-server closes idle kept-alive ones): that request is sent again
    handler.drop = ["/", "/"]
    init(InitOptions(target_url=url, requests=3), tmp_path / "s.yaml")
    assert sum(1 for m, p in handler.seen if (m, p) == ("GET", "/")) == 1 + 2 + 3
    spec = parse_spec((tmp_path / "s.yaml").read_text()).spec
    assert spec.prometheus.preset == "otel-http"
    assert spec.target is not None and (spec.target.api, spec.target.method) == ("http", "GET")


def test_a_failing_probe_writes_nothing(tmp_path: Path, fake: tuple[str, type[_Fake]]) -> None:
    url, handler = fake
    handler.routes = {
        ("GET", "/"): (200, "text/plain", b"ok"),
        ("GET", "/v2/health/ready"): (200, "text/plain", b""),
        ("POST", "/v2/models/iris/infer"): (422, "application/json", b'{"error":"shape"}'),
    }
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"inputs": []}))
    with pytest.raises(InfrastructureError, match="answered 422"):
        init(InitOptions(target_url=url, model="iris", payload=body), tmp_path / "s.yaml")
    with pytest.raises(UsageError, match="--payload"):
        init(InitOptions(target_url=url, model="iris"), tmp_path / "s.yaml")
    assert not (tmp_path / "s.yaml").exists()


def test_a_target_that_does_not_answer(tmp_path: Path) -> None:
    from tests.helpers import free_port

    with pytest.raises(InfrastructureError, match="does not answer"):
        init(
            InitOptions(target_url=f"http://127.0.0.1:{free_port()}", timeout=2.0),
            tmp_path / "s.yaml",
        )
