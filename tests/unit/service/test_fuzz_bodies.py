"""Generated bodies thrown at every POST endpoint of the reference service: never a 5xx.

Each endpoint gets 2,000 generated bodies (a fixed seed: ``derandomize``), in-process through
``httpx.ASGITransport``: arbitrary JSON (any shape; strings with lone surrogates and control
characters; huge, NaN and infinite numbers; booleans; nesting), near-valid bodies (a valid body
with one field replaced, removed or added), bytes that are not UTF-8 or not JSON, and any
content type. A client's mistake is a 4xx with an error body; a 5xx is a bug. The statuses the
client saw are then the ones ``http_requests_total`` counted.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slocheck.service.app import create_app
from slocheck.service.config import FaultConfig, ServiceConfig
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.state import ServiceState
from slocheck.service.validation import MAX_TOKENS_LIMIT
from tests.helpers import Samples, parse_metrics, sample

# SLOCHECK_SERVICE_FUZZ_EXAMPLES=20000 for a deeper search; never fewer than 2,000
EXAMPLES_PER_ENDPOINT = max(2000, int(os.environ.get("SLOCHECK_SERVICE_FUZZ_EXAMPLES", "0")))
FUZZ = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    derandomize=True,  # the same 2,000 bodies on every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# -- arbitrary JSON --------------------------------------------------------------------------

plain_characters = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(max_codepoint=0x1F),  # control characters, NUL included
    st.sampled_from(["\u2028", "\ufeff", "\U0001f600", " ", "\t", "\n"]),
)
surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"])
# (st.text would merge the alphabets into one with no surrogate left: join a list instead)
odd_text = st.lists(plain_characters | surrogates, min_size=1, max_size=24).map("".join)
strings = st.text(plain_characters, max_size=24) | odd_text
#: Number literals that json.dumps cannot write (or writes differently): spliced in raw.
RAW_NUMBERS = [
    "1e400", "-1e400", "1" * 5000, "0.1e-99999", "NaN", "-Infinity", "-0", "1E+2", "1.0",
    "512.0", "0.5e1", "18446744073709551616", "-9223372036854775809",
]  # fmt: skip


@dataclass(frozen=True)
class Raw:
    """A JSON text written as is (a number literal json.dumps would not write)."""

    text: str


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(RAW_NUMBERS).map(Raw),
    strings,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)
    ),
    max_leaves=20,
)
_RAW_MARK = re.compile(r'"\\u0000\\u0001raw(\d+)\\u0001\\u0000"')


def encode(body: Any, *, escape: bool) -> bytes:
    """``body`` as JSON text. ``escape``: lone surrogates as ``\\ud800`` escapes; otherwise
    written raw (``surrogatepass``: bytes that are not UTF-8)."""
    raws: list[str] = []

    def replace(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"\x00\x01raw{len(raws) - 1}\x01\x00"
        if isinstance(v, list):
            return [replace(x) for x in v]
        if isinstance(v, dict):
            return {k: replace(x) for k, x in v.items()}
        return v

    text = json.dumps(replace(body), ensure_ascii=escape)  # NaN, Infinity: literals
    text = _RAW_MARK.sub(lambda m: raws[int(m.group(1))], text)
    return text.encode("utf-8", "surrogatepass")


# -- near-valid bodies ------------------------------------------------------------------------

pixels = st.integers(1, 6).flatmap(
    lambda w: st.lists(
        st.lists(st.floats(0.0, 1.0) | st.sampled_from([0, 1]), min_size=w, max_size=w),
        min_size=1,
        max_size=6,
    )
)
prompts = st.text(plain_characters, min_size=1, max_size=40) | odd_text | st.just("hi")
small_tokens = st.integers(1, 4)
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool"])
content = prompts | st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": prompts}), min_size=1, max_size=2
)
options = st.fixed_dictionaries({"include_usage": st.booleans()})
VALID: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/v1/classify": st.fixed_dictionaries({"pixels": pixels}),
    "/v1/generate": st.fixed_dictionaries(
        {"prompt": prompts}, optional={"max_tokens": small_tokens, "stream": st.booleans()}
    ),
    "/v1/chat/completions": st.fixed_dictionaries(
        {
            "messages": st.lists(
                st.fixed_dictionaries({"role": roles, "content": content}),
                min_size=1,
                max_size=3,
            )
        },
        optional={
            "model": strings,
            "max_tokens": small_tokens,
            "max_completion_tokens": small_tokens,
            "stream": st.booleans(),
            "stream_options": options,
            "n": st.just(1),
            "temperature": st.floats(0, 2),
        },
    ),
    "/v1/completions": st.fixed_dictionaries(
        {"prompt": prompts},
        optional={
            "model": strings,
            "max_tokens": small_tokens,
            "stream": st.booleans(),
            "stream_options": options,
            "seed": st.integers(),
        },
    ),
    "/admin/faults": st.fixed_dictionaries(
        {},
        optional={
            "error_rate": st.sampled_from([0, 0.5, "5%", 1]),
            "latency": st.sampled_from(["200ms", 0.1, "1h"]),
            "latency_probability": st.sampled_from([0.5, "10%"]),
            "crash_after": st.sampled_from([None, 0, 10]),
            "stall_every": st.sampled_from(["10s", 60]),
            "stall_for": st.sampled_from(["2s", 1]),
            "seed": st.integers(),
        },
    ),
}


def _paths(value: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield here
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*here, i))


def _at(value: Any, path: tuple[Any, ...], change: Callable[[Any], Any]) -> Any:
    if not path:
        return change(value)
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _at(value[head], rest, change)}
    return [*value[:head], _at(value[head], rest, change), *value[head + 1 :]]


_DELETE = object()


@st.composite
def near_valid(draw: st.DrawFn, endpoint: str) -> Any:
    """A valid body of ``endpoint`` with (most often) one node replaced, dropped or added."""
    body = draw(VALID[endpoint])
    path = draw(st.sampled_from(list(_paths(body))))
    how = draw(st.sampled_from(["replace", "replace", "drop", "add", "keep", "keep"]))
    if how == "keep":
        return body
    if how == "replace":
        new = draw(values | st.sampled_from([True, False, 0, -1, MAX_TOKENS_LIMIT + 1, 1e400]))
        return _at(body, path, lambda _: new)
    if how == "add":
        key, new = draw(strings), draw(values)
        return _at(body, path, lambda v: {**v, key: new} if isinstance(v, dict) else [v, new])
    if not path:
        return _DELETE

    def drop(parent: Any) -> Any:
        if isinstance(parent, dict):
            return {k: v for k, v in parent.items() if k != path[-1]}
        return [v for i, v in enumerate(parent) if i != path[-1]]

    return _at(body, path[:-1], drop)


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
    "*/*; q=0.5",
    "application/json;;;=",
]


@st.composite
def requests(draw: st.DrawFn, endpoint: str) -> tuple[bytes, str | None]:
    """(body bytes, content type or None for no header)."""
    kind = draw(st.sampled_from(["near", "near", "near", "json", "json", "bytes"]))
    if kind == "bytes":
        raw = draw(
            st.binary(max_size=64)
            | strings.map(lambda s: s.encode("utf-8", "surrogatepass"))
            | st.sampled_from(
                [b"", b"{", b'{"a":', b"\xff\xfe{", b"\xef\xbb\xbf{}", b"[" * 5000, b"nul"]
            )
        )
    else:
        body = draw(near_valid(endpoint)) if kind == "near" else draw(values)
        raw = b"" if body is _DELETE else encode(body, escape=draw(st.booleans()))
        if draw(st.integers(0, 9)) == 9:  # one in ten as UTF-16 (RFC 8259 detection)
            raw = raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass")
    content_type = draw(st.none() | st.sampled_from(CONTENT_TYPES))
    return raw, content_type


# -- the service, in-process -------------------------------------------------------------------


@dataclass
class Service:
    loop: asyncio.Runner
    client: httpx.AsyncClient
    state: ServiceState

    def post(self, path: str, raw: bytes, content_type: str | None) -> httpx.Response:
        headers = {} if content_type is None else {"content-type": content_type}
        return self.loop.run(self.client.post(path, content=raw, headers=headers))

    def metrics(self) -> Samples:
        return parse_metrics(self.loop.run(self.client.get("/metrics")).text)


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    """One app for the module: no batch wait, no access log, admin on, and no crash fault can
    end the test process."""
    config = ServiceConfig(max_batch_wait_ms=0.0, access_log=False, enable_admin=True)
    app = create_app(config, metrics=ServiceMetrics(process_metrics=False), crash_hook=lambda: None)
    with asyncio.Runner() as loop:
        lifespan = app.router.lifespan_context(app)
        loop.run(lifespan.__aenter__())
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc")
        try:
            yield Service(loop, client, app.state.svc)
        finally:
            loop.run(client.aclose())
            loop.run(lifespan.__aexit__(None, None, None))


ENDPOINTS = ["/v1/classify", "/v1/generate", "/v1/chat/completions", "/v1/completions"]


def _check(r: httpx.Response, raw: bytes, endpoint: str) -> None:
    assert r.status_code < 500, (r.status_code, raw[:300], r.text[:300])
    if r.status_code >= 400:
        assert "error" in r.json(), r.text[:300]
    else:
        _acceptable(endpoint, raw)


def _acceptable(endpoint: str, raw: bytes) -> None:
    """What a 2xx implies of its body, checked independently of the service's validation."""
    body = json.loads(raw.decode(json.detect_encoding(raw)))  # strict: valid Unicode
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # no lone surrogate anywhere
    assert isinstance(body, dict), raw[:300]
    if endpoint == "/v1/classify":
        values = [v for row in body["pixels"] for v in row]
        assert all(type(v) in (int, float) and 0 <= v <= 1 for v in values), raw[:300]
        return
    for key in ("max_tokens", "max_completion_tokens", "n"):
        assert type(body.get(key, 1)) in (int, float, type(None)), raw[:300]
    assert type(body.get("stream", False)) is bool, raw[:300]
    if endpoint == "/v1/chat/completions":
        assert all(type(m["role"]) is str for m in body["messages"]), raw[:300]
    elif endpoint != "/admin/faults":
        assert type(body["prompt"]) is str and body["prompt"].strip(), raw[:300]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_generated_bodies_never_get_a_5xx(service: Service, endpoint: str) -> None:
    before = service.metrics()
    seen: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(requests(endpoint))
    def throw(request: tuple[bytes, str | None]) -> None:
        raw, content_type = request
        r = service.post(endpoint, raw, content_type)
        seen[r.status_code] += 1
        event(f"status {r.status_code}")
        _check(r, raw, endpoint)

    throw()
    print(endpoint, dict(sorted(seen.items())))  # pytest -s shows what was answered
    after = service.metrics()
    assert sum(seen.values()) >= EXAMPLES_PER_ENDPOINT
    assert {s for s in seen if s >= 500} == set()
    assert seen[200] > 0 and sum(n for s, n in seen.items() if 400 <= s < 500) > 0
    for status, n in seen.items():  # what the client saw is what the service counted
        labels = {"method": "POST", "endpoint": endpoint, "status": str(status)}
        key = ("http_requests_total", tuple(sorted(labels.items())))
        assert sample(after, "http_requests_total", **labels) - before.get(key, 0) == n


def test_generated_fault_settings_never_get_a_5xx(service: Service) -> None:
    seen: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(requests("/admin/faults"))
    def throw(request: tuple[bytes, str | None]) -> None:
        raw, content_type = request
        try:
            r = service.post("/admin/faults", raw, content_type)
        finally:
            service.state.set_faults(FaultConfig())  # an accepted fault must not stay on
        seen[r.status_code] += 1
        event(f"status {r.status_code}")
        _check(r, raw, "/admin/faults")

    throw()
    print("/admin/faults", dict(sorted(seen.items())))
    assert sum(seen.values()) >= EXAMPLES_PER_ENDPOINT and seen[200] > 0 and seen[422] > 0
