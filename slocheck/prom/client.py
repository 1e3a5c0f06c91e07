"""Reading Prometheus (or Thanos, Mimir, VictoriaMetrics) over its HTTP API.

:class:`PromClient` is the small interface the verifier needs; :class:`HttpPromClient` is the
real one (prometheus-api-client underneath), :class:`FakePromClient` answers from memory.
Third-party errors are mapped here: unreachable, 5xx after retries, 401/403 -> PrometheusError
(exit 3); a query Prometheus refuses as bad (400) -> SpecError (exit 2). Secrets come from
environment variables and never appear in a message.
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from slocheck.errors import PrometheusError, SpecError, UsageError
from slocheck.evaluate.counters import Sample, Series

_R = TypeVar("_R")


class PromClient(Protocol):
    url: str

    def fetch_samples(self, selector: str, start: float, end: float) -> list[Series]:
        """Raw samples of every series matching ``selector`` in ``(start, end]``."""
        ...

    def instant(self, query: str, at: float) -> list[float]:
        """Evaluate ``query`` at ``at``: one value per series (or the scalar)."""
        ...


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


def parse_matrix(result: Any) -> list[Series]:
    """``[{"metric": {...}, "values": [[t, "v"], ...]}, ...]`` -> series; ValueError when not."""
    if not isinstance(result, list):
        raise ValueError(f"expected a list of series, got {type(result).__name__}")
    out = []
    for item in result:
        if not isinstance(item, dict) or not isinstance(item.get("metric", {}), dict):
            raise ValueError("a series without a metric object")
        raw = item.get("values")
        if raw is None and "value" in item:
            raw = [item["value"]]
        if not isinstance(raw, list):
            raise ValueError("a series without values")
        samples: list[Sample] = []
        for pair in raw:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"a sample that is not [time, value]: {pair!r:.60}")
            samples.append((_float(pair[0]), _float(pair[1])))
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        out.append(Series(labels, samples))
    return out


def parse_values(result: Any) -> list[float]:
    """An instant query's result (vector or scalar) -> one value per series."""
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return [_float(result[1])]  # scalar: [t, "v"]
    if isinstance(result, list) and any(isinstance(i, dict) and "values" in i for i in result):
        raise ValueError(
            "the query returned a range vector; judge one value per series, "
            "e.g. with max_over_time(...) or avg_over_time(...)"
        )
    return [s.samples[-1][1] for s in parse_matrix(result) if s.samples]


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
    _conn: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from prometheus_api_client import PrometheusConnect
        from urllib3.util.retry import Retry

        headers = dict(self.headers)
        auth = None
        if self.bearer_token_env:
            headers["Authorization"] = "Bearer " + _secret(
                self.bearer_token_env, "bearer_token_env"
            )
        if self.basic_auth_env:
            user, sep, password = _secret(self.basic_auth_env, "basic_auth_env").partition(":")
            if not sep:
                raise UsageError(
                    f"environment variable {self.basic_auth_env} "
                    "(prometheus.basic_auth_env) must hold user:password"
                )
            auth = (user, password)
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
        self.shown_url = redact_url(self.url)
        self._conn = PrometheusConnect(
            url=self.url,
            headers=headers or None,
            auth=auth,
            disable_ssl=not self.tls_verify,
            retry=retry,
            timeout=self.timeout,
        )

    def _query(self, query: str, at: float) -> Any:
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        try:
            return self._conn.custom_query(query, params={"time": f"{at:.3f}"})
        except PrometheusApiClientException as e:
            raise _api_error(e, self.shown_url, query) from None
        except (requests.exceptions.JSONDecodeError, ValueError, KeyError, TypeError) as e:
            # a 200 whose body is not the JSON the API promises
            raise PrometheusError(
                f"unexpected answer from {self.shown_url} to {query}: {type(e).__name__}"
            ) from None
        except requests.exceptions.RequestException as e:
            raise PrometheusError(
                f"cannot reach Prometheus at {self.shown_url}: {_reason(e)}",
                hint="check prometheus.url / --prometheus-url, and that it is up",
            ) from None

    def fetch_samples(self, selector: str, start: float, end: float) -> list[Series]:
        from slocheck.evaluate.plan import window_text

        query = f"{selector}[{window_text(max(end - start, 0.001))}]"
        return self._parsed(query, end, parse_matrix)

    def instant(self, query: str, at: float) -> list[float]:
        return self._parsed(query, at, parse_values)

    def _parsed(self, query: str, at: float, parse: Callable[[Any], _R]) -> _R:
        try:
            return parse(self._query(query, at))
        except (ValueError, TypeError) as e:
            raise PrometheusError(
                f"unexpected answer from {self.shown_url} to {query}: {e}"
            ) from None


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


_STATUS_RE = re.compile(r"HTTP Status Code (\d+) \((.*)\)$", re.S)


def _api_error(e: Exception, url: str, query: str) -> Exception:
    match = _STATUS_RE.match(str(e))
    status = int(match.group(1)) if match else 0
    detail = ""
    if match:
        try:
            body = ast.literal_eval(match.group(2))
            data = json.loads(body) if isinstance(body, (bytes, str)) else {}
            detail = str(data.get("error", ""))[:300] if isinstance(data, dict) else ""
        except (ValueError, SyntaxError):
            detail = ""
    if status == 400:
        return SpecError(f"Prometheus at {url} refused the query {query}: {detail or 'bad query'}")
    if status in (401, 403):
        return PrometheusError(
            f"Prometheus at {url} refused access ({status})",
            hint="check prometheus.bearer_token_env / basic_auth_env",
        )
    return PrometheusError(
        f"Prometheus at {url} answered {status or 'an error'} to {query}"
        + (f": {detail}" if detail else "")
    )


@dataclass
class FakePromClient:
    """Answers from memory: ``series`` by metric name, ``values`` by exact query."""

    series: Mapping[str, Sequence[Series]] = field(default_factory=dict)
    values: Mapping[str, Sequence[float]] = field(default_factory=dict)
    url: str = "fake://prometheus"
    calls: list[tuple[str, float, float]] = field(default_factory=list)
    fail: Callable[[str], Exception | None] | None = None

    def fetch_samples(self, selector: str, start: float, end: float) -> list[Series]:
        self.calls.append((selector, start, end))
        if self.fail and (exc := self.fail(selector)):
            raise exc
        name, _, rest = selector.partition("{")
        matchers = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        out = []
        for s in self.series.get(name, []):
            if all(s.labels.get(k) == v for k, v in matchers.items()):
                out.append(Series(s.labels, [(t, v) for t, v in s.samples if start < t <= end]))
        return [s for s in out if s.samples]

    def instant(self, query: str, at: float) -> list[float]:
        self.calls.append((query, at, at))
        if self.fail and (exc := self.fail(query)):
            raise exc
        return list(self.values.get(query, []))
