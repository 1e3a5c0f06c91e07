from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest

from slocheck.service.config import FaultConfig, ServiceConfig
from slocheck.service.metrics import INSTRUMENTED_ROUTES, STATUSES_AT_START
from slocheck.service.state import ServiceState
from tests.helpers import FAMILIES, family_names, parse_metrics, sample
from tests.unit.service.conftest import MakeClient

PIXELS = {"pixels": [[0.5] * 28] * 28}


async def test_every_family_is_exposed_and_label_sets_start_at_zero(
    make_client: MakeClient,
) -> None:
    client, state = await make_client()
    text = (await client.get("/metrics")).text
    assert family_names(text) >= FAMILIES
    samples = parse_metrics(text)
    for route in INSTRUMENTED_ROUTES:
        for status in STATUSES_AT_START:
            assert (
                sample(samples, "http_requests_total", method="POST", endpoint=route, status=status)
                == 0
            )
    for model, version in state.model_versions().items():
        assert sample(samples, "ml_predictions_total", model=model, model_version=version) == 0
        assert (
            sample(
                samples,
                "ml_model_info",
                model=model,
                model_version=version,
                backend="numpy",
                device="cpu",
            )
            == 1
        )
    assert not any(name.endswith("_created") for name, _ in samples)
    assert not any(name.startswith("gpu_") for name, _ in samples)  # no GPU here


async def test_counts_per_status_equal_what_the_client_saw(make_client: MakeClient) -> None:
    client, _ = await make_client()
    seen: dict[tuple[str, str, int], int] = {}
    calls = (
        [("POST", "/v1/classify", PIXELS)] * 5
        + [("POST", "/v1/classify", {})] * 3
        + [("POST", "/v1/generate", {"prompt": "hi", "max_tokens": 2})] * 2
        + [
            ("GET", "/v1/classify", None),
            ("POST", "/v1/nope", PIXELS),
            ("GET", "/health", None),
            ("GET", "/metrics", None),
        ]
    )
    for method, path, body in calls:
        r = await client.request(method, path, json=body)
        seen[(method, path, r.status_code)] = seen.get((method, path, r.status_code), 0) + 1
    samples = parse_metrics((await client.get("/metrics")).text)
    assert seen[("POST", "/v1/classify", 200)] == 5
    assert seen[("POST", "/v1/classify", 422)] == 3
    assert seen[("GET", "/v1/classify", 405)] == 1
    for (method, path, status), n in seen.items():
        if path in INSTRUMENTED_ROUTES:
            assert (
                sample(
                    samples, "http_requests_total", method=method, endpoint=path, status=str(status)
                )
                == n
            )
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="<unmatched>", status="404")
        == 1
    )
    # probes and scrapes are never counted; no raw path becomes a label
    endpoints = {
        dict(labels).get("endpoint") for name, labels in samples if name == "http_requests_total"
    }
    assert endpoints == {*INSTRUMENTED_ROUTES, "<unmatched>"}
    assert (
        sample(
            samples, "http_request_duration_seconds_count", method="POST", endpoint="/v1/classify"
        )
        == 8
    )
    assert sample(samples, "ml_errors_total", model="classifier", error_type="invalid_input") == 3
    assert sample(samples, "http_requests_in_flight") == 0


async def test_request_id_is_echoed_or_made(make_client: MakeClient) -> None:
    client, _ = await make_client()
    r = await client.post("/v1/classify", json=PIXELS, headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    made = (await client.post("/v1/classify", json=PIXELS)).headers["x-request-id"]
    hostile = await client.post("/v1/classify", json=PIXELS, headers={"X-Request-ID": "<script>"})
    assert len(made) == 32 and hostile.headers["x-request-id"] != "<script>"


async def test_classify_answer(make_client: MakeClient) -> None:
    client, state = await make_client()
    body = (await client.post("/v1/classify", json=PIXELS)).json()
    assert body["model_version"] == state.model_versions()["classifier"]
    assert set(body) == {"label", "confidence", "class_index", "model_version", "batch_size"}


async def test_oversized_bodies_get_413(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(max_body_bytes=2048))
    big = json.dumps({"pixels": [[0.5] * 100] * 100}).encode()
    r = await client.post("/v1/classify", content=big)
    assert r.status_code == 413 and r.json()["error"]["type"] == "payload_too_large"

    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: the limit holds while streaming
        for i in range(0, len(big), 512):
            yield big[i : i + 512]

    r = await client.post("/v1/classify", content=chunks())
    assert r.status_code == 413
    samples = parse_metrics((await client.get("/metrics")).text)
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="/v1/classify", status="413")
        == 2
    )


async def test_generate_json_and_stream(make_client: MakeClient) -> None:
    client, _ = await make_client()
    r = await client.post("/v1/generate", json={"prompt": "tell me", "max_tokens": 5})
    body = r.json()
    assert r.status_code == 200 and len(body["text"].split()) == 5
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 5}
    r = await client.post(
        "/v1/generate", json={"prompt": "tell me", "max_tokens": 5, "stream": True}
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [
        line.removeprefix("data: ") for line in r.text.splitlines() if line.startswith("data: ")
    ]
    assert events[-1] == "[DONE]"
    tokens = [json.loads(e)["token"] for e in events[:-2]]
    assert " ".join(tokens) == body["text"]  # deterministic: the stream says the same
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "ml_generated_tokens_total") == 10
    assert sample(samples, "ml_time_to_first_token_seconds_count") == 2
    assert sample(samples, "ml_inter_token_latency_seconds_count") == 8


async def test_full_queue_sheds_with_503_and_readiness_fails(make_client: MakeClient) -> None:
    # batches wait up to 2 s to fill: the 6 requests, sent at once in this process, pile up in
    # the queue of 2 long before it runs (a margin of seconds over what sending them takes)
    client, state = await make_client(
        ServiceConfig(max_queue=2, max_batch_size=64, max_batch_wait_ms=2000)
    )
    tasks = [asyncio.ensure_future(client.post("/v1/classify", json=PIXELS)) for _ in range(6)]
    deadline = asyncio.get_running_loop().time() + 30  # a hang guard; ends on the condition
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)
        if state.classify_batcher is not None and state.classify_batcher.saturated:
            break
    ready = await client.get("/health/ready")
    responses = await asyncio.gather(*tasks)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 200, 503, 503, 503, 503]
    shed = [r for r in responses if r.status_code == 503]
    assert all(r.headers["retry-after"] == "1" for r in shed)
    assert ready.status_code == 503 and "queue_classifier" in ready.json()["failing"]
    assert (await client.get("/health/ready")).status_code == 200
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "ml_errors_total", model="classifier", error_type="overloaded") == 4
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="/v1/classify", status="503")
        == 4
    )


async def test_concurrent_requests_form_batches(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(max_batch_size=16, max_batch_wait_ms=10_000))
    responses = await asyncio.gather(*(client.post("/v1/classify", json=PIXELS) for _ in range(32)))
    assert all(r.status_code == 200 for r in responses)
    assert max(r.json()["batch_size"] for r in responses) == 16
    samples = parse_metrics((await client.get("/metrics")).text)
    count = sample(samples, "ml_batch_size_count", model="classifier")
    total = sample(samples, "ml_batch_size_sum", model="classifier")
    assert total - 1 == 32 and total / count > 1  # the warm-up is one batch of one


async def test_injected_error_rate(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(faults=FaultConfig(error_rate=0.1, seed=42)))
    codes = [(await client.post("/v1/classify", json=PIXELS)).status_code for _ in range(600)]
    errors = codes.count(500)
    assert set(codes) == {200, 500}
    assert 0.07 <= errors / len(codes) <= 0.13
    samples = parse_metrics((await client.get("/metrics")).text)
    assert sample(samples, "ml_errors_total", model="classifier", error_type="injected") == errors
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="/v1/classify", status="500")
        == errors
    )


@pytest.mark.parametrize(("probability", "latency", "slow"), [(1.0, 1.0, True), (0.0, 60.0, False)])
async def test_injected_latency(
    make_client: MakeClient, probability: float, latency: float, slow: bool
) -> None:
    client, _ = await make_client(
        ServiceConfig(faults=FaultConfig(latency=latency, latency_probability=probability))
    )
    t0 = time.perf_counter()
    assert (await client.post("/v1/classify", json=PIXELS)).status_code == 200
    elapsed = time.perf_counter() - t0
    # slow: at least the injected second; not slow: far less than the 60 s it would have taken
    assert elapsed >= 1.0 if slow else elapsed < 30


async def test_injected_latency_is_model_time_and_costs_capacity(make_client: MakeClient) -> None:
    """Two requests at once, batching off, 0.2 s injected: the one model worker runs them one
    after the other, so the later answer comes >= 0.4 s after both were sent (a wait outside
    the model would answer both after 0.2 s), and the model's duration histogram holds it."""
    client, _ = await make_client(ServiceConfig(max_batch_size=1, faults=FaultConfig(latency=0.2)))

    async def timed() -> float:
        assert (await client.post("/v1/classify", json=PIXELS)).status_code == 200
        return time.perf_counter()

    t0 = time.perf_counter()
    done = await asyncio.gather(timed(), timed())
    assert max(done) - t0 >= 0.4
    samples = parse_metrics((await client.get("/metrics")).text)
    total = sample(samples, "ml_inference_duration_seconds_sum", model="classifier")
    assert total is not None and total >= 0.4


async def test_crash_after_n_requests(make_client: MakeClient) -> None:
    crashes: list[int] = []
    holder: list[ServiceState] = []
    client, state = await make_client(
        ServiceConfig(faults=FaultConfig(crash_after=3)),
        crash_hook=lambda: crashes.append(holder[0].inference_requests),
    )
    holder.append(state)
    for _ in range(3):
        await client.post("/v1/classify", json=PIXELS)
    assert crashes == []
    await client.post("/v1/classify", json=PIXELS)
    assert crashes == [4]


async def test_admin_faults(make_client: MakeClient) -> None:
    plain, _ = await make_client()
    assert (await plain.post("/admin/faults", json={"error_rate": 1})).status_code == 404
    client, state = await make_client(ServiceConfig(enable_admin=True))
    r = await client.post("/admin/faults", json={"error_rate": "100%", "latency": "1ms"})
    assert r.status_code == 200 and r.json()["error_rate"] == 1.0
    assert (await client.post("/v1/classify", json=PIXELS)).status_code == 500
    bad = await client.post("/admin/faults", json={"latency": "soon"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "faults.latency"
    assert (await client.post("/admin/faults", content=b"[")).status_code == 422
    assert state.faults.error_rate == 1.0  # refused changes change nothing
    await client.post("/admin/faults", json={"error_rate": 0, "latency": 0})
    assert (await client.post("/v1/classify", json=PIXELS)).status_code == 200
    assert (await client.get("/admin/faults")).json()["error_rate"] == 0.0
    samples = parse_metrics((await client.get("/metrics")).text)
    assert (
        sample(samples, "http_requests_total", method="POST", endpoint="/v1/classify", status="200")
        == 1
    )  # admin calls are not counted as traffic


async def test_health_endpoints(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(faults=FaultConfig(error_rate=0.5)))
    for path, word in (
        ("/health/live", "alive"),
        ("/health/ready", "ready"),
        ("/health/startup", "started"),
    ):
        r = await client.get(path)
        assert (r.status_code, r.json()["status"]) == (200, word)
    summary = (await client.get("/health")).json()
    assert summary["ready"] and summary["status"] == "ok"
    assert summary["faults"]["error_rate"] == 0.5
    assert set(summary["checks"]) == {
        "model_loaded",
        "warmup",
        "batchers_running",
        "queue_classifier",
        "queue_generator",
    }


async def test_a_dead_batcher_fails_liveness(make_client: MakeClient) -> None:
    client, state = await make_client(ServiceConfig(model="classifier"))
    assert state.classify_batcher is not None
    await state.classify_batcher.stop()
    assert (await client.get("/health/live")).status_code == 503
    assert (await client.get("/health/ready")).status_code == 503
    r = await client.post("/v1/classify", json=PIXELS)
    assert r.status_code == 503  # refused cleanly, never a 500 or a hang
    assert (await client.post("/v1/generate", json={"prompt": "x"})).status_code == 404


async def test_access_log_is_json_without_bodies(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    from slocheck.service.logs import JsonFormatter

    client, _ = await make_client()
    caplog.set_level(logging.INFO, logger="slocheck.service.access")
    secret = {"prompt": "my password is hunter2", "max_tokens": 1}
    await client.post("/v1/generate", json=secret, headers={"X-Request-ID": "req-1"})
    records = [r for r in caplog.records if r.name == "slocheck.service.access"]
    assert records
    line = json.loads(JsonFormatter("svc", "1.0").format(records[-1]))
    assert line["request_id"] == "req-1" and line["status"] == 200
    assert line["endpoint"] == "/v1/generate" and line["latency_ms"] > 0
    assert {"timestamp", "level", "service", "version"} <= set(line)
    formatter = JsonFormatter("svc", "1.0")
    assert not any("hunter2" in formatter.format(r) for r in caplog.records)


async def test_tracing_spans(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="the 'otel' extra is not installed")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from slocheck.service.tracing import build_tracer

    exporter = InMemorySpanExporter()
    client, _ = await make_client(tracer=build_tracer("svc", "1.0", exporter=exporter))
    caplog.set_level(logging.INFO, logger="slocheck.service.access")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    await client.post("/v1/classify", json=PIXELS, headers={"traceparent": parent})
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"POST /v1/classify", "queue_wait", "batch_inference"} <= set(spans)
    request = spans["POST /v1/classify"]
    assert f"{request.context.trace_id:032x}" == "0af7651916cd43dd8448eb211c80319c"
    batch = spans["batch_inference"]
    assert batch.parent is not None and request.context is not None
    assert batch.parent.span_id == request.context.span_id
    assert batch.attributes is not None and batch.attributes["ml.batch_size"] == 1
    record = [r for r in caplog.records if r.name == "slocheck.service.access"][-1]
    assert record.__dict__["trace_id"] == "0af7651916cd43dd8448eb211c80319c"


def test_tracing_is_off_without_otel_variables() -> None:
    from slocheck.service.tracing import tracing_requested

    assert not tracing_requested({})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing_requested({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})


async def test_hostile_bodies_never_give_500(make_client: MakeClient) -> None:
    client, _ = await make_client(ServiceConfig(enable_admin=True))
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/v1/classify", "/v1/generate"):
        r = await client.post(path, content=deep)
        assert r.status_code == 422, path
    r = await client.post("/admin/faults", content=b'{"error_rate": 1' + b"0" * 400 + b"}")
    assert r.status_code == 422
    r = await client.post("/admin/faults", content=b"[" * 70_000)
    assert r.status_code == 413


async def test_a_request_arriving_during_a_stall_waits_until_it_ends(
    make_client: MakeClient,
) -> None:
    """A lower bound on an injected delay, not a bound on the machine's speed: the request
    arrives at the start of a 0.3 s stall, so it takes at least 0.3 s, however fast."""
    client, state = await make_client(
        ServiceConfig(faults=FaultConfig(stall_every=1.0, stall_for=0.3))
    )
    state._faults_set_at = time.monotonic() - 1.0  # a stall began just now
    started = time.monotonic()
    r = await client.post("/v1/classify", json=PIXELS)
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.29
    assert state.faults.to_dict()["stall_every"] == 1.0
