from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slocheck.errors import PrometheusError, SpecError, UsageError
from slocheck.evaluate.counters import Series
from slocheck.prom.client import (
    RANGE_TYPES,
    AnswerError,
    FakePromClient,
    HttpPromClient,
    parse_matrix,
    parse_values,
    read_answer,
    redact_url,
    warnings_of,
)
from tests.helpers import free_port

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"job": "demo", "status": "200"},
                "values": [[100, "1"], [101.5, "NaN"], [102, "+Inf"]],
            },
        ],
    },
}


class _Handler(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, bytes]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(
            {k.lower(): v for k, v in self.headers.items()} | {"path": self.path}
        )
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"answers": [], "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_fetch_samples_parses_the_matrix(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.answers = [(200, _json(MATRIX))]
    series = HttpPromClient(url).fetch_samples('x{job="demo"}', 40.0, 100.0)
    assert series[0].labels == {"job": "demo", "status": "200"}
    assert series[0].samples[0] == (100.0, 1.0)
    assert math.isnan(series[0].samples[1][1]) and math.isinf(series[0].samples[2][1])
    assert "query=x%7Bjob%3D%22demo%22%7D%5B60s%5D" in handler.seen[0]["path"]
    assert "time=100.000" in handler.seen[0]["path"]


def test_retries_5xx_then_succeeds(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.answers = [(503, b"{}"), (502, b"{}"), (200, _json(MATRIX))]
    assert HttpPromClient(url, retries=3, backoff=0.01).fetch_samples("x", 0, 1)
    assert len(handler.seen) == 3


def test_5xx_after_retries_is_an_infrastructure_error(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.answers = [(503, _json({"status": "error", "error": "overloaded"}))]
    with pytest.raises(PrometheusError, match="answered 503"):
        HttpPromClient(url, retries=2, backoff=0.01).instant("up", 1.0)
    assert len(handler.seen) == 3


def test_bad_query_is_a_spec_error(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.answers = [
        (400, _json({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}))
    ]
    with pytest.raises(SpecError, match="parse error at char 5"):
        HttpPromClient(url).instant("sum(", 1.0)


def test_secrets_are_sent_but_never_shown(
    server: tuple[str, type[_Handler]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = server
    monkeypatch.setenv("PROM_TOKEN", "s3cr3t-token")
    handler.answers = [(401, b'{"status":"error","error":"unauthorized"}')]
    client = HttpPromClient(url, bearer_token_env="PROM_TOKEN", headers={"X-Scope-OrgID": "a"})
    with pytest.raises(PrometheusError) as info:
        client.instant("up", 1.0)
    assert handler.seen[0]["authorization"] == "Bearer s3cr3t-token"
    assert handler.seen[0]["x-scope-orgid"] == "a"
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in repr(client)
    assert "refused access (401)" in str(info.value)


def test_basic_auth_from_the_environment(
    server: tuple[str, type[_Handler]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = server
    handler.answers = [
        (200, _json({"status": "success", "data": {"resultType": "vector", "result": []}}))
    ]
    monkeypatch.setenv("PROM_AUTH", "alice:pa55")
    HttpPromClient(url, basic_auth_env="PROM_AUTH").instant("up", 1.0)
    assert handler.seen[0]["authorization"].startswith("Basic ")
    monkeypatch.setenv("PROM_AUTH", "no-colon")
    with pytest.raises(UsageError, match="user:password"):
        HttpPromClient(url, basic_auth_env="PROM_AUTH")
    with pytest.raises(UsageError, match="MISSING_VAR"):
        HttpPromClient(url, bearer_token_env="MISSING_VAR")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"data": 3}',
        _json({"data": {"result": [{"metric": {}, "values": [[1]]}]}}),
        _json({"data": {"result": [{"metric": {}, "values": [[1, "abc"]]}]}}),
    ],
)
def test_malformed_answers_are_infrastructure_errors(
    server: tuple[str, type[_Handler]], body: bytes
) -> None:
    url, handler = server
    handler.answers = [(200, body)]
    with pytest.raises(PrometheusError, match="unexpected answer"):
        HttpPromClient(url).fetch_samples("x", 0, 1)


def test_unreachable_fails_fast_and_names_the_url() -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(PrometheusError) as info:
        HttpPromClient(url, retries=2, backoff=0.01, timeout=600).instant("up", 1.0)
    # fast: a refused connection is not waited out (three tries of the 600 s timeout would be
    # half an hour, so this generous bound tells the two apart on any machine)
    assert time.monotonic() - t0 < 120
    assert "cannot reach Prometheus at http://***@127.0.0.1:" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_redact_url() -> None:
    assert redact_url("https://u:p@prom.example:9090/x") == "https://***@prom.example:9090/x"
    assert redact_url("http://127.0.0.1:9090") == "http://127.0.0.1:9090"


def test_a_range_vector_is_not_a_value() -> None:
    with pytest.raises(ValueError, match="range vector"):
        parse_values([{"metric": {}, "values": [[1, "2"], [2, "3"]]}])


def test_parse_values_vector_and_scalar() -> None:
    assert parse_values([1.5, "3"]) == [3.0]
    assert (
        parse_values(
            [{"metric": {}, "value": [1, "2"]}, {"metric": {"a": "b"}, "value": [1, "NaN"]}]
        )[0]
        == 2.0
    )
    assert parse_values([]) == []


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=4),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.sampled_from(["metric", "values", "value", "x"]), c, max_size=3)
        ),
        max_leaves=15,
    )
)
def test_parsers_raise_only_value_errors(result: object) -> None:
    for parse in (parse_matrix, parse_values):
        with contextlib.suppress(ValueError, TypeError):
            parse(result)


def test_fake_client_filters_by_matchers_and_window() -> None:
    fake = FakePromClient(
        series={"x": [Series({"job": "a"}, [(1, 1), (5, 2)]), Series({"job": "b"}, [(1, 1)])]}
    )
    got = fake.fetch_samples('x{job="a"}', 2, 10)
    assert [s.samples for s in got] == [[(5, 2)]]


# -- every answer is checked before it is judged (issue 24) --------------------------------


def test_status_error_with_http_200_is_never_read_as_data(
    server: tuple[str, type[_Handler]],
) -> None:
    url, handler = server
    body = {**MATRIX, "status": "error", "errorType": "internal", "error": "boom"}
    handler.answers = [(200, _json(body))]
    with pytest.raises(AnswerError, match=r'status is "error", not "success" \(internal: boom\)'):
        HttpPromClient(url).fetch_samples("x", 0, 1)


def test_warnings_travel_with_the_series(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    handler.answers = [(200, _json({**MATRIX, "warnings": ["partial response: store down"]}))]
    series = HttpPromClient(url).fetch_samples("x", 0, 1)
    assert series.warnings == ("partial response: store down",) and len(series) == 1
    vector = {
        "status": "success",
        "warnings": ["w"],
        "data": {"resultType": "scalar", "result": [1, "2"]},
    }
    handler.answers = [(200, _json(vector))]
    values = HttpPromClient(url).instant("up", 1.0)
    assert list(values) == [2.0] and warnings_of(values) == ("w",)
    assert warnings_of([1.0]) == ()


@pytest.mark.parametrize(
    ("kind", "result", "range_query", "message"),
    [
        (
            "vector",
            [{"metric": {}, "value": [1, "5"]}],
            True,
            'resultType is "vector" where matrix',
        ),
        ("scalar", [1, "5"], True, 'resultType is "scalar" where matrix'),
        ("string", [1, "5"], False, 'resultType is "string" where vector or scalar'),
        (None, [], False, "resultType is null"),
        ("matrix", [{"metric": {}, "values": [[1, "5"]]}], False, "range vector"),
    ],
)
def test_the_result_type_must_be_what_was_asked(
    server: tuple[str, type[_Handler]],
    kind: str | None,
    result: object,
    range_query: bool,
    message: str,
) -> None:
    url, handler = server
    handler.answers = [
        (200, _json({"status": "success", "data": {"resultType": kind, "result": result}}))
    ]
    client = HttpPromClient(url)
    with pytest.raises(AnswerError, match=message):
        client.fetch_samples("x", 0, 1) if range_query else client.instant("x", 1.0)


def test_a_matrix_item_without_values_is_not_a_range(server: tuple[str, type[_Handler]]) -> None:
    url, handler = server
    body = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {}, "value": [1, "5"]}]},
    }
    handler.answers = [(200, _json(body))]
    with pytest.raises(AnswerError, match="a series without values"):
        HttpPromClient(url).fetch_samples("x", 0, 1)


class _Truncating(_Handler):
    def do_GET(self) -> None:
        body = _json(MATRIX)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:-20])  # and the connection closes
        self.close_connection = True


def test_a_truncated_body_is_named_as_such() -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Truncating)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(AnswerError) as info:
            HttpPromClient(f"http://127.0.0.1:{httpd.server_address[1]}").fetch_samples("x", 0, 1)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "cut off (truncated body" in str(info.value)
    assert "refused" not in str(info.value) and "cannot reach" not in str(info.value)


def test_json_that_ends_early_is_named_truncated() -> None:
    with pytest.raises(ValueError, match=r"ends after .* before its JSON does \(truncated\)"):
        read_answer(_json(MATRIX)[:-15], RANGE_TYPES)
    with pytest.raises(ValueError, match="is not JSON"):
        read_answer(b"<html>oops</html>", RANGE_TYPES)
    result, warnings = read_answer(_json(MATRIX), RANGE_TYPES)
    assert warnings == () and result == MATRIX["data"]["result"]  # type: ignore[index]


def test_the_fake_client_carries_warnings() -> None:
    fake = FakePromClient(series={"x": [Series({}, [(1, 1)])]}, warnings=["partial"])
    assert fake.fetch_samples("x", 0, 2).warnings == ("partial",)
    assert fake.instant("q", 1).warnings == ("partial",)
