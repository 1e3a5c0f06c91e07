"""A hostile Prometheus: a small real HTTP server whose ``/api/v1/query`` answers with canned
bodies, clean (``control``) or in one of the ways a real one (or a proxy, Thanos, an HA pair)
can go wrong. Each scenario is what an adversarial tester once got ``slocheck verify`` to pass.

Data: ``job="demo"`` over a 600 s window scraped every 15 s; ``http_requests_total`` by
``status``, ``http_request_duration_seconds_bucket`` by ``le``, and two probes for ``promql``
SLIs (``ge_probe``, judged ``>= 1``, and ``le_probe``, judged ``<= 1``). :data:`SPEC` holds the
SLOs, every one of which passes on the clean data.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

SCRAPE = 15.0
WINDOW = 600.0
OK_RATE = 200.0  # requests/s answered 200 on clean data
ERR_RATE = 0.1  # requests/s answered 500
BOUNDS = ("0.1", "0.25", "0.5", "1", "+Inf")
SHARES = (0.5, 0.995, 1.0, 1.0, 1.0)  # cumulative share of requests within each bound

SPEC = """\
version: 1
service: {{name: demo}}
prometheus:
  url: {url}
  selector: job="demo"
  scrape_interval: 15s
slos:
  - {{name: availability, sli: availability, objective: 99%}}
  - {{name: throughput, sli: throughput, threshold: 150}}
  - {{name: p99, sli: latency, percentile: 99, threshold: 1s}}
  - {{name: probe-ge, sli: promql, query: 'sum(ge_probe{{job="demo"}})', op: ">=", threshold: 1}}
  - {{name: probe-le, sli: promql, query: 'sum(le_probe{{job="demo"}})', op: "<=", threshold: 1}}
"""


def _text(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


@dataclass
class Data:
    """The window, and the series a scenario's answers are made of."""

    start: float
    end: float

    def times(self) -> list[float]:
        t, out = self.start - 60.0, []
        while t <= self.end + 1e-9:
            out.append(t)
            t += SCRAPE
        return out

    def counter(self, labels: dict[str, str], rate: float, base: float = 0.0) -> dict[str, Any]:
        values = [[t, _text(base + rate * (t - self.start + 60.0))] for t in self.times()]
        return {"metric": {"job": "demo", **labels}, "values": values}

    def constant(self, labels: dict[str, str], value: float) -> dict[str, Any]:
        return {
            "metric": {"job": "demo", **labels},
            "values": [[t, _text(value)] for t in self.times()],
        }

    def requests(
        self, rate: float = OK_RATE, errors: float | None = ERR_RATE, **extra: str
    ) -> list[dict[str, Any]]:
        name = {"__name__": "http_requests_total", **extra}
        out = [self.counter({**name, "status": "200"}, rate)]
        if errors is not None:
            out.append(self.counter({**name, "status": "500"}, errors))
        return out

    def buckets(
        self, shares: tuple[float, ...] = SHARES, rate: float = OK_RATE
    ) -> list[dict[str, Any]]:
        name = {"__name__": "http_request_duration_seconds_bucket"}
        return [
            self.counter({**name, "le": le}, rate * share)
            for le, share in zip(BOUNDS, shares, strict=True)
        ]


def matrix(result: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": "matrix", "result": result}, **extra}


def vector(value: float, at: float, **extra: Any) -> dict[str, Any]:
    result = [{"metric": {}, "value": [at, _text(value)]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}, **extra}


#: (status, body, cut): ``cut`` bytes short of what Content-Length promises
Answer = tuple[int, dict[str, Any] | bytes, int]


def clean(d: Data, query: str, at: float) -> dict[str, Any]:
    """The control's answer to ``query``."""
    if "ge_probe" in query:
        return vector(5.0, at)
    if "le_probe" in query:
        return vector(0.2, at)
    if "http_request_duration_seconds_bucket" in query:
        return matrix(d.buckets())
    if "http_requests_total" in query:
        return matrix(d.requests())
    return matrix([])


def _requests_or_clean(
    make: Callable[[Data], dict[str, Any]],
) -> Callable[[Data, str, float], Answer]:
    def answer(d: Data, query: str, at: float) -> Answer:
        if "http_requests_total" in query:
            return 200, make(d), 0
        return 200, clean(d, query, at), 0

    return answer


def _bad_error_counter(value: float) -> Callable[[Data, str, float], Answer]:
    """The error counter's every sample is ``value`` (NaN, +-Inf, negative)."""

    def make(d: Data) -> dict[str, Any]:
        ok = d.counter({"__name__": "http_requests_total", "status": "200"}, OK_RATE)
        return matrix([ok, d.constant({"__name__": "http_requests_total", "status": "500"}, value)])

    return _requests_or_clean(make)


def _status_error(d: Data, query: str, at: float) -> Answer:
    body = clean(d, query, at)
    return 200, {**body, "status": "error", "errorType": "internal", "error": "boom"}, 0


def _partial(d: Data) -> dict[str, Any]:
    warning = "partial response: store 10.0.0.7:10901 unavailable"
    return matrix(d.requests(errors=None), warnings=[warning])


def _probe(ge: float, le: float) -> Callable[[Data, str, float], Answer]:
    def answer(d: Data, query: str, at: float) -> Answer:
        if "ge_probe" in query:
            return 200, vector(ge, at), 0
        if "le_probe" in query:
            return 200, vector(le, at), 0
        return 200, clean(d, query, at), 0

    return answer


def _non_monotone(d: Data, query: str, at: float) -> Answer:
    if "http_request_duration_seconds_bucket" in query:
        # the lower buckets count 100 times what +Inf does: 60,000 "observations" of 600
        total = 1.0  # requests/s in +Inf: 600 in the window
        shares = (100.0, 100.0, 100.0, 100.0, 1.0)
        return 200, matrix(d.buckets(shares, rate=total)), 0
    return 200, clean(d, query, at), 0


def _instant_for_range(d: Data, query: str, at: float) -> Answer:
    body = clean(d, query, at)
    if body["data"]["resultType"] == "matrix":  # the last sample of each, as a vector
        result = [{"metric": s["metric"], "value": s["values"][-1]} for s in body["data"]["result"]]
        body = {"status": "success", "data": {"resultType": "vector", "result": result}}
    return 200, body, 0


def _huge(d: Data) -> dict[str, Any]:
    """Counts near 1e294: 1e292 "requests" a second, where a float cannot count by one."""
    name = {"__name__": "http_requests_total"}
    ok = d.counter({**name, "status": "200"}, 1e292, base=1e294)
    return matrix([ok, d.counter({**name, "status": "500"}, ERR_RATE)])


def _truncated(d: Data, query: str, at: float) -> Answer:
    return 200, clean(d, query, at), 40


def _wrong_type(d: Data, query: str, at: float) -> Answer:
    """A string where an instant query's vector or scalar belongs."""
    if query.endswith("]"):
        return 200, clean(d, query, at), 0
    return 200, {"status": "success", "data": {"resultType": "string", "result": [at, "5"]}}, 0


def _control(d: Data, query: str, at: float) -> Answer:
    return 200, clean(d, query, at), 0


#: scenario -> how it answers ``(data, query, time)``
SCENARIOS: dict[str, Callable[[Data, str, float], Answer]] = {
    "control": _control,
    "status_error_with_200": _status_error,
    "warnings_and_missing_error_series": _requests_or_clean(_partial),
    "duplicate_series": _requests_or_clean(
        lambda d: matrix(d.requests(rate=100.0) + d.requests(rate=100.0))
    ),
    "replicas_a_and_b": _requests_or_clean(
        lambda d: matrix(d.requests(rate=100.0, replica="A") + d.requests(rate=100.0, replica="B"))
    ),
    "nan_error_counter": _bad_error_counter(math.nan),
    "plus_inf_error_counter": _bad_error_counter(math.inf),
    "minus_inf_error_counter": _bad_error_counter(-math.inf),
    "negative_error_counter": _bad_error_counter(-5.0),
    "promql_plus_inf_ge": _probe(math.inf, 0.2),
    "promql_minus_inf_le": _probe(5.0, -math.inf),
    "non_monotone_histogram": _non_monotone,
    "instant_vector_for_range": _instant_for_range,
    "counts_near_1e294": _requests_or_clean(_huge),
    "truncated_body": _truncated,
    "wrong_result_type": _wrong_type,
}


class _Handler(BaseHTTPRequestHandler):
    scenario: ClassVar[str] = "control"
    data: ClassVar[Data]
    queries: ClassVar[list[str]]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/api/v1/query":
            self._send(404, b'{"status":"error","error":"not found"}', 0)
            return
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        query, at = params.get("query", ""), float(params.get("time", "0"))
        type(self).queries.append(query)
        status, body, cut = SCENARIOS[self.scenario](self.data, query, at)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self._send(status, raw, cut)

    def _send(self, status: int, raw: bytes, cut: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw[: len(raw) - cut] if cut else raw)
        if cut:  # the rest never comes
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Hostile:
    url: str
    handler: type[_Handler]

    @property
    def queries(self) -> list[str]:
        return self.handler.queries


@contextmanager
def hostile_prometheus(scenario: str, data: Data) -> Iterator[Hostile]:
    """Serve ``scenario`` over ``data`` on a free port of 127.0.0.1."""
    if scenario not in SCENARIOS:
        raise KeyError(scenario)
    handler = type("Handler", (_Handler,), {"scenario": scenario, "data": data, "queries": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hostile(f"http://127.0.0.1:{httpd.server_address[1]}", handler)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
