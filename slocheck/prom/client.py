"""Reading Prometheus (or Thanos, Mimir, VictoriaMetrics) over its HTTP API.

:class:`PromClient` is the small interface the verifier needs; :class:`HttpPromClient` is the
real one (requests with retries underneath), :class:`FakePromClient` answers from memory.
Third-party errors are mapped here: unreachable, 5xx after retries, 401/403 -> PrometheusError
(exit 3); a query Prometheus refuses as bad (400) -> SpecError (exit 2). Every answer is read
whole and checked before anything is parsed (:func:`read_answer`): a body that is not complete
JSON, a ``status`` other than ``success`` (even with HTTP 200) or a ``resultType`` other than
asked is an :class:`AnswerError` (exit 3); ``warnings`` travel with the series. Secrets come
from environment variables and never appear in a message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from slocheck.errors import PrometheusError, SpecError, UsageError
from slocheck.evaluate.counters import Sample, Series
from slocheck.promql import Selector
from slocheck.promql import duration as promql_duration

_R = TypeVar("_R")


class SeriesAnswer(list[Series]):
    """The series of one answer, with the ``warnings`` Prometheus sent along (a partial
    response: a store, shard or replica did not answer). A list, so callers that only want the
    series keep working."""

    def __init__(self, items: Iterable[Series] = (), warnings: Sequence[str] = ()) -> None:
        super().__init__(items)
        self.warnings: tuple[str, ...] = tuple(warnings)


class ValuesAnswer(list[float]):
    """The values of an instant query (one per series), with the answer's ``warnings``."""

    def __init__(self, items: Iterable[float] = (), warnings: Sequence[str] = ()) -> None:
        super().__init__(items)
        self.warnings: tuple[str, ...] = tuple(warnings)


def warnings_of(answer: object) -> tuple[str, ...]:
    """The warnings an answer carried (none for a plain list)."""
    return tuple(getattr(answer, "warnings", ()))


class PromClient(Protocol):
    url: str

    def fetch_samples(self, selector: str, start: float, end: float) -> SeriesAnswer:
        """Raw samples of every series matching ``selector`` in ``(start, end]``."""
        ...

    def instant(self, query: str, at: float) -> ValuesAnswer:
        """Evaluate ``query`` at ``at``: one value per series (or the scalar)."""
        ...


class AnswerError(PrometheusError):
    """Prometheus answered, but not with something that can be judged: ``status`` not
    ``success``, a body that is not (complete) JSON, or a ``resultType`` other than asked."""


NOT_PROMETHEUS_HINT = (
    "give the URL of Prometheus itself (its API answers at /api/v1/query), e.g. "
    "http://localhost:9090, in --prometheus-url or prometheus.url"
)


def redact_url(url: str) -> str:
    """The URL without any user:password part."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _float(text: Any) -> float:
    if isinstance(text, bool):
        raise ValueError("boolean is not a sample value")
    return float(text)  # "NaN", "+Inf" and "-Inf" are valid Prometheus values


def _pair(pair: Any) -> Sample:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise ValueError(f"a sample that is not [time, value]: {pair!r:.60}")
    return _float(pair[0]), _float(pair[1])


def _labels(item: Any) -> dict[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("metric", {}), dict):
        raise ValueError("a series without a metric object")
    return {str(k): str(v) for k, v in item.get("metric", {}).items()}


def parse_matrix(result: Any) -> list[Series]:
    """``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]`` -> series; ValueError when not
    (an instant vector's ``"value"`` is not a range's samples)."""
    if not isinstance(result, list):
        raise ValueError(f"expected a list of series, got {type(result).__name__}")
    out = []
    for item in result:
        labels = _labels(item)
        raw = item.get("values")
        if not isinstance(raw, list):
            raise ValueError("a series without values")
        out.append(Series(labels, [_pair(p) for p in raw]))
    return out


def parse_values(result: Any) -> list[float]:
    """An instant query's result (vector or scalar) -> one value per series."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return [_pair(result)[1]]  # scalar: [t, "v"]
    if not isinstance(result, list):
        raise ValueError(f"expected a list of series, got {type(result).__name__}")
    if any(isinstance(i, dict) and "values" in i for i in result):
        raise ValueError(
            "the query returned a range vector; judge one value per series, "
            "e.g. with max_over_time(...) or avg_over_time(...)"
        )
    out = []
    for item in result:
        _labels(item)
        out.append(_pair(item.get("value"))[1])
    return out


#: What each kind of query must answer.
RANGE_TYPES = ("matrix",)
INSTANT_TYPES = ("vector", "scalar")


def read_answer(body: bytes, expected: Sequence[str]) -> tuple[Any, tuple[str, ...]]:
    """The ``result`` and ``warnings`` of a whole API body; :class:`ValueError` saying what is
    wrong when the body is not complete JSON, its ``status`` is not ``success`` (whatever else
    it holds), or its ``resultType`` is not one of ``expected``."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        at = getattr(e, "pos", 0)
        if body.strip() and at >= len(body.rstrip()) - 1:
            raise ValueError(
                f"the body ends after {len(body):,} bytes, before its JSON does (truncated)"
            ) from None
        raise ValueError(f"the body is not JSON ({len(body):,} bytes)") from None
    if not isinstance(doc, dict):
        raise ValueError(f"the body is a JSON {type(doc).__name__}, not an object")
    status = doc.get("status")
    if status != "success":
        why = str(doc.get("error") or "no error given")[:300]
        error_type = doc.get("errorType")
        prefix = f"{error_type}: " if isinstance(error_type, str) else ""
        raise ValueError(f'status is {json.dumps(status)}, not "success" ({prefix}{why})')
    data = doc.get("data")
    if not isinstance(data, dict):
        raise ValueError("the body has no data object")
    kind = data.get("resultType")
    if kind == "matrix" and "vector" in expected:
        raise ValueError(
            "the query returned a range vector; judge one value per series, "
            "e.g. with max_over_time(...) or avg_over_time(...)"
        )
    if kind not in expected:
        asked = " or ".join(expected)
        raise ValueError(f"resultType is {json.dumps(kind)} where {asked} was asked")
    warnings = doc.get("warnings") or []
    if not isinstance(warnings, list):
        warnings = [warnings]
    return data.get("result"), tuple(str(w)[:500] for w in warnings)


@dataclass
class HttpPromClient:
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    bearer_token_env: str | None = None
    basic_auth_env: str | None = None
    tls_verify: bool = True
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.3
    _session: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        session.headers.update(self.headers)
        if self.bearer_token_env:
            session.headers["Authorization"] = "Bearer " + _secret(
                self.bearer_token_env, "bearer_token_env"
            )
        if self.basic_auth_env:
            user, sep, password = _secret(self.basic_auth_env, "basic_auth_env").partition(":")
            if not sep:
                raise UsageError(
                    f"environment variable {self.basic_auth_env} "
                    "(prometheus.basic_auth_env) must hold user:password"
                )
            session.auth = (user, password)
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            backoff_factor=self.backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=("GET", "POST"),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.verify = self.tls_verify
        self.shown_url = redact_url(self.url)
        self._session = session

    def _query(self, query: str, at: float, expected: Sequence[str]) -> tuple[Any, tuple[str, ...]]:
        """The checked ``result`` and ``warnings`` of ``query`` at ``at``."""
        import requests

        endpoint = self.url.rstrip("/") + "/api/v1/query"
        try:
            response = self._session.get(
                endpoint, params={"query": query, "time": f"{at:.3f}"}, timeout=self.timeout
            )
            body = response.content
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise AnswerError(
                f"the answer of {self.shown_url} to {query} was cut off (truncated body: the "
                "connection closed before the whole answer came)",
                hint="a proxy or Prometheus itself broke the answer off; try again",
            ) from None
        except requests.exceptions.RequestException as e:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.shown_url}: {_reason(e)}",
                hint="check prometheus.url / --prometheus-url, and that it is up",
            ) from None
        if response.status_code != 200:
            raise _api_error(response.status_code, body, self.shown_url, query)
        try:
            return read_answer(body, expected)
        except ValueError as e:
            raise AnswerError(f"unexpected answer from {self.shown_url} to {query}: {e}") from None

    def check_api(self) -> None:
        """Raise a PrometheusError (exit 3) unless :attr:`url` answers Prometheus' query API
        (``/api/v1/query`` answers ``1`` with ``status: success``): a closed port, a wrong
        host, or a URL that is not a Prometheus (a 404, an HTML page) is found at once."""
        import requests

        hint = NOT_PROMETHEUS_HINT
        endpoint = self.url.rstrip("/") + "/api/v1/query"
        try:
            response = self._session.get(endpoint, params={"query": "1"}, timeout=self.timeout)
        except requests.exceptions.RequestException as e:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.shown_url}: {_reason(e)}", hint=hint
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise _api_error(status, response.content, self.shown_url, "1")
        if status != 200:
            raise PrometheusError(
                f"this is not a Prometheus: /api/v1/query answered {status} at {self.shown_url}",
                hint=hint,
            )
        try:
            data = json.loads(response.content)
            ok = data.get("status") == "success" and "resultType" in data.get("data", {})
        except (ValueError, AttributeError, TypeError):
            ok = False
        if not ok:
            raise PrometheusError(
                f"this is not a Prometheus: /api/v1/query at {self.shown_url} answered 200 "
                "with something other than Prometheus' API",
                hint=hint,
            )

    def metric_names(self) -> list[str] | None:
        """Every metric name this Prometheus holds (``/api/v1/label/__name__/values``); None
        when it cannot tell."""
        import requests

        endpoint = self.url.rstrip("/") + "/api/v1/label/__name__/values"
        try:
            response = self._session.get(endpoint, timeout=self.timeout)
            data = json.loads(response.content) if response.status_code == 200 else None
        except (requests.exceptions.RequestException, ValueError):
            return None
        names = data.get("data") if isinstance(data, dict) else None
        return [str(n) for n in names] if isinstance(names, list) else None

    def fetch_samples(self, selector: str, start: float, end: float) -> SeriesAnswer:
        query = f"{selector}[{promql_duration(max(end - start, 0.001))}]"
        result, warnings = self._query(query, end, RANGE_TYPES)
        return SeriesAnswer(self._parsed(query, result, parse_matrix), warnings)

    def instant(self, query: str, at: float) -> ValuesAnswer:
        result, warnings = self._query(query, at, INSTANT_TYPES)
        return ValuesAnswer(self._parsed(query, result, parse_values), warnings)

    def _parsed(self, query: str, result: Any, parse: Callable[[Any], _R]) -> _R:
        try:
            return parse(result)
        except (ValueError, TypeError) as e:
            raise AnswerError(f"unexpected answer from {self.shown_url} to {query}: {e}") from None


def _secret(env: str, field_name: str) -> str:
    value = (os.environ.get(env) or "").strip()  # a trailing newline from a file or secret store
    if not value:
        raise UsageError(f"environment variable {env} (prometheus.{field_name}) is not set")
    return value


def _reason(e: Exception) -> str:
    """Why a request failed, in words; retries wrap the cause, so look at the text too."""
    text = f"{type(e).__name__}: {e}".lower()
    if "ssl" in text or "certificate" in text:
        return "TLS failed (certificate not trusted? see prometheus.tls_verify)"
    if "timeout" in text or "timed out" in text:
        return "timed out (after retries)"
    if "refused" in text or "connection" in text:
        return "connection refused or no route (after retries)"
    return type(e).__name__


def _api_error(status: int, body: bytes, url: str, query: str) -> Exception:
    try:
        data = json.loads(body)
        detail = str(data.get("error", ""))[:300] if isinstance(data, dict) else ""
    except (UnicodeDecodeError, json.JSONDecodeError):
        detail = ""
    if status == 400:
        return SpecError(f"Prometheus at {url} refused the query {query}: {detail or 'bad query'}")
    if status in (401, 403):
        return PrometheusError(
            f"Prometheus at {url} refused access ({status})",
            hint="check prometheus.bearer_token_env / basic_auth_env",
        )
    if status == 404:
        return PrometheusError(
            f"this is not a Prometheus: /api/v1/query answered 404 at {url}",
            hint=NOT_PROMETHEUS_HINT,
        )
    return PrometheusError(
        f"Prometheus at {url} answered {status or 'an error'} to {query}"
        + (f": {detail}" if detail else "")
    )


@dataclass
class FakePromClient:
    """Answers from memory: ``series`` by metric name, ``values`` by exact query; every answer
    carries ``warnings``."""

    series: Mapping[str, Sequence[Series]] = field(default_factory=dict)
    values: Mapping[str, Sequence[float]] = field(default_factory=dict)
    url: str = "fake://prometheus"
    calls: list[tuple[str, float, float]] = field(default_factory=list)
    fail: Callable[[str], Exception | None] | None = None
    warnings: Sequence[str] = ()

    def fetch_samples(self, selector: str, start: float, end: float) -> SeriesAnswer:
        self.calls.append((selector, start, end))
        if self.fail and (exc := self.fail(selector)):
            raise exc
        sel = Selector.parse(selector)
        equal = [m for m in sel.matchers if m.op == "="]  # the others are the caller's to apply
        out = []
        for s in self.series.get(sel.metric, []):
            if all(s.labels.get(m.label) == m.text for m in equal):
                out.append(Series(s.labels, [(t, v) for t, v in s.samples if start < t <= end]))
        return SeriesAnswer([s for s in out if s.samples], self.warnings)

    def instant(self, query: str, at: float) -> ValuesAnswer:
        self.calls.append((query, at, at))
        if self.fail and (exc := self.fail(query)):
            raise exc
        return ValuesAnswer(self.values.get(query, []), self.warnings)
