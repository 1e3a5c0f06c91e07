"""The SLO spec, schema version 1, as pydantic models. See docs/slo-spec.md."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from slocheck.promql import (
    Selector,
    SelectorError,
    is_label_name,
    is_metric_name,
    parse_matchers,
)
from slocheck.slofile.alerts import SloAlerts
from slocheck.slofile.base import STRICT, Duration, Ratio
from slocheck.slofile.bounds import (
    MAX_DURATION_S,
    MAX_LATENCY_S,
    MAX_WAIT_S,
    PROMETHEUS_CREDENTIALS,
    TARGET_CREDENTIALS,
    http_url,
)
from slocheck.slofile.goodput import GoodputConstraints
from slocheck.slofile.kinds import KINDS, expected_names, find, kind
from slocheck.slofile.load_model import LoadSpec, PrefixSpec, TokenLength
from slocheck.units import parse_duration, parse_ratio


def _sli_name(value: Any) -> str:
    """``sli:``: the name of a kind in :data:`slocheck.slofile.kinds.KINDS` (pydantic's words for a
    value not among them, as a Literal gives them)."""
    if isinstance(value, str) and value in KINDS:
        return value
    raise PydanticCustomError(
        "literal_error", "Input should be {expected}", {"expected": expected_names()}
    )


#: ``sli:``, a name checked against the kinds' records (:mod:`slocheck.slofile.kinds`).
SliName = Annotated[
    str,
    PlainValidator(_sli_name),
    WithJsonSchema({"type": "string", "enum": list(KINDS)}),  # the built-in kinds
]
Policy = Literal["fail", "warn", "pass"]
Source = Literal["server", "client", "both"]
Api = Literal["slocheck", "openai", "kserve-v2", "http"]
HistogramUnit = Literal["s", "ms", "us"]
#: Seconds per unit of a histogram's bucket bounds (``unit:``).
UNIT_SECONDS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
Op = Literal["<", "<=", ">", ">=", "==", "!="]


def series_selector(v: str) -> str:
    """``metric`` or ``metric{label="value", ...}``: a counter's series, as PromQL selects them."""
    try:
        sel: Selector | None = Selector.parse(v)
    except SelectorError:
        sel = None
    if sel is None or not sel.metric:
        raise ValueError(
            f'expected a series selector like errors_total{{job="demo"}}, got {v!r:.80}'
        )
    return sel.render()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r:.60}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("number too large") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


__all__ = [
    "CostSpec",
    "Duration",
    "FaultsSpec",
    "LoadSpec",
    "PrefixSpec",
    "PrometheusSpec",
    "Ratio",
    "RegressionSpec",
    "ServiceSpec",
    "SloSpec",
    "Spec",
    "TargetSpec",
    "TokenLength",
]


class _Strict(BaseModel):
    model_config = STRICT


class FaultsSpec(_Strict):
    error_rate: Ratio = 0.0
    latency: Duration = 0.0
    latency_probability: Ratio = 1.0
    # added to every later token of a stream: the gaps between tokens grow, not the first one
    token_latency: Duration = Field(default=0.0, ge=0, le=60)
    crash_after: int | None = Field(default=None, ge=0)
    # the whole service stalls for stall_for every stall_every (requests wait it out)
    stall_every: Duration = 0.0
    stall_for: Duration = Field(default=0.0, validate_default=True)
    seed: int | None = None

    @field_validator("stall_for")
    @classmethod
    def _stall(cls, v: float, info: ValidationInfo) -> float:
        every = info.data.get("stall_every", 0.0)
        if (v > 0) != (every > 0):
            raise ValueError("stall_every and stall_for go together (every: 10s, for: 2s)")
        if v and v >= every:
            raise ValueError(f"a stall of {v:g} s every {every:g} s never ends: make it shorter")
        return v


class ServiceSpec(_Strict):
    """The service under test. Everything but ``name`` applies to the embedded default only."""

    name: str = "service"
    model: Literal["classifier", "generator", "both"] = "both"
    backend: Literal["numpy", "torch"] = "numpy"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_batch_size: int = Field(default=32, ge=1, le=4096)
    max_batch_wait_ms: float = Field(default=2.0, ge=0, le=10_000)
    max_queue: int = Field(default=512, ge=1)
    threads: int = Field(default=1, ge=0, le=1024)
    faults: FaultsSpec = FaultsSpec()


class TargetSpec(_Strict):
    """The service under load. Without ``url``: the embedded reference service, which answers
    the ``slocheck`` and ``openai`` APIs."""

    url: str | None = None
    api: Api = "slocheck"
    model: str | None = None  # openai: the "model" field; kserve-v2: /v2/models/{model}/infer
    endpoint: Literal["chat", "completions"] = "chat"  # openai: /v1/chat/completions or ...
    stream: bool = True  # openai
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"  # http
    path: str = "/"  # http
    # where the embedded Prometheus scrapes the target's metrics (MLServer: another port);
    # default: url + /metrics
    metrics_url: str | None = None
    # before the load: wait until GET url + ready_path answers 2xx (with no ready_path, until
    # the URL answers at all); a target still not ready after ready_timeout is exit 3
    ready_path: str | None = None
    ready_timeout: Duration = Field(default=30.0, gt=0, le=MAX_WAIT_S)

    @field_validator("ready_path", "path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"expected a path starting with /, got {v!r}")
        return v

    @field_validator("url", "metrics_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        return None if v is None else http_url(v, credentials=TARGET_CREDENTIALS)

    @field_validator("model")
    @classmethod
    def _model(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$", v):
            raise ValueError(
                f"expected a model name like iris or meta-llama/Llama-3-8B, got {v!r:.60}"
            )
        return v


class PrometheusSpec(_Strict):
    url: str | None = None
    # the server's metric names, labels and units (slocheck.slofile.presets); none: slocheck's
    preset: str | None = None
    selector: str = ""
    headers: dict[str, str] = {}
    bearer_token_env: str | None = None
    basic_auth_env: str | None = None
    tls_verify: bool = True
    scrape_interval: Duration = 1.0
    timeout: Duration = 10.0
    retries: int = Field(default=3, ge=0, le=10)
    # judge an answer that carries warnings (a partial response: a store or shard missing)
    accept_partial: bool = False
    # labels that tell replicas apart (Thanos without deduplication, an HA pair): dropped, and
    # of the series then alike one replica's is kept
    dedup_labels: list[str] = []

    @field_validator("url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        return None if v is None else http_url(v, credentials=PROMETHEUS_CREDENTIALS)

    @field_validator("selector")
    @classmethod
    def _selector(cls, v: str) -> str:
        inner = v.strip()
        if inner.startswith("{") and inner.endswith("}"):
            inner = inner[1:-1].strip()
        try:
            parse_matchers(inner)
        except SelectorError:
            raise ValueError(f'expected label matchers like job="demo", got {v!r:.80}') from None
        return inner.rstrip(",").strip()

    @field_validator("preset")
    @classmethod
    def _preset(cls, v: str | None) -> str | None:
        from slocheck.slofile.presets import PRESET_NAMES

        if v is not None and v not in PRESET_NAMES:
            raise ValueError(f"expected one of {', '.join(PRESET_NAMES)}, got {v!r:.60}")
        return v

    @field_validator("headers")
    @classmethod
    def _no_inline_secrets(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if name.lower() in ("authorization", "cookie", "proxy-authorization"):
                raise ValueError(
                    f"{name}: secrets never go inline; use bearer_token_env or "
                    "basic_auth_env (the name of an environment variable)"
                )
        return v

    @field_validator("dedup_labels")
    @classmethod
    def _label_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not is_label_name(name) or name in ("__name__", "le"):
                raise ValueError(f"expected label names (not __name__ or le), got {name!r:.40}")
        return v

    @field_validator("bearer_token_env", "basic_auth_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", v):
            raise ValueError(f"expected the NAME of an environment variable, got {v!r:.40}")
        return v


class SloSpec(_Strict):
    name: str = Field(min_length=1, max_length=200)
    sli: SliName
    objective: Ratio | None = None
    threshold: float | None = None
    percentile: float | None = Field(default=None, gt=0, lt=100)
    op: Op | None = None
    query: str | None = None
    measurement: Literal["requests", "uptime"] | None = None
    severity: Literal["critical", "warning"] = "critical"
    on_no_data: Policy = "fail"
    on_inconclusive: Policy = "fail"
    # who measured it: the server's metrics (Prometheus), the load generator, or both (the
    # stricter verdict); default: server where the preset has the metric, else client
    source: Source | None = None
    min_samples: int | None = Field(default=None, ge=1)
    metric: str | None = None
    interpolate: bool = False
    # sli ratio: counters of the good (or the bad) requests and of all of them
    good: str | None = None
    bad: str | None = None
    total: str | None = None
    # the unit of the histogram's bucket bounds (Triton: us, many apps: ms); thresholds stay
    # durations and verdicts are shown in seconds
    unit: HistogramUnit = "s"
    description: str | None = None
    # the user's labels and annotations on the page and ticket alerts (Sloth, OpenSLO)
    alerts: SloAlerts | None = None
    # sli goodput: what one request must meet, all at once, to count as good
    constraints: GoodputConstraints | None = None
    # judge every slice of the window too: the share of slices that must pass
    slice: Duration | None = Field(default=None, ge=1, le=MAX_DURATION_S)
    slices_objective: Ratio = 1.0
    # stop the load once this SLO can no longer pass (its error budget for the run is spent),
    # after abort_delay more of it
    abort_on_fail: bool = False
    abort_delay: Duration = Field(default=0.0, ge=0, le=MAX_DURATION_S)

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, v: Any, info: ValidationInfo) -> Any:
        if v is None:
            return v
        found = find(info.data.get("sli"))
        unit = (found.threshold_unit if found else None) or "number"
        return {"duration": parse_duration, "ratio": parse_ratio, "number": _number}[unit](v)

    @field_validator("threshold")
    @classmethod
    def _can_fail(cls, v: float | None, info: ValidationInfo) -> float | None:
        """A threshold no measurement can miss is refused: such an SLO would always pass."""
        sli = str(info.data.get("sli"))
        found = find(sli)
        if v is None or found is None:
            return v
        if sli == "error_ratio" and v >= 1.0:
            raise ValueError(
                f"an error ratio of {v:.0%} or less can never fail: give the largest share "
                "of errors allowed, e.g. 1%"
            )
        if found.rate_unit is not None and v <= 0:
            unit = found.rate_unit
            raise ValueError(
                f"a throughput of at least {v:g} {unit} can never fail: give the least "
                f"{unit} the service must sustain, e.g. 10"
            )
        if found.threshold_unit == "duration" and not 0 < v <= MAX_LATENCY_S:
            raise ValueError(
                f"expected a latency above 0s and at most {MAX_LATENCY_S / 3600:g}h, "
                f"e.g. 500ms, got {v:g} s"
            )
        return v

    @field_validator("objective")
    @classmethod
    def _objective(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError(
                "an objective of 0% can never fail: give the share that must succeed, e.g. 99.9%"
            )
        return v

    @field_validator("query")
    @classmethod
    def _query(cls, v: str | None) -> str | None:
        if v is not None and not v:
            raise ValueError(
                "the query is empty: give a PromQL expression with a single value, e.g. "
                "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))"
            )
        return v

    @field_validator("good", "bad", "total")
    @classmethod
    def _series(cls, v: str | None) -> str | None:
        return None if v is None else series_selector(v)

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str | None) -> str | None:
        if v is not None and not is_metric_name(v):
            raise ValueError(f"expected a metric name like http_requests_total, got {v!r:.80}")
        return v

    @property
    def metric_name(self) -> str:
        return self.metric or kind(self.sli).default_metric or ""


def _tolerance(value: Any) -> float:
    """``+10%``, ``-5%``, ``10%`` or ``0.1``: the size of the change tolerated."""
    text = value.strip().lstrip("+-") if isinstance(value, str) else value
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = abs(text)
    return parse_ratio(text)


Tolerance = Annotated[float, BeforeValidator(_tolerance)]


class RegressionSpec(_Strict):
    """Tolerances of ``slocheck compare``: relative for latencies and throughput, percentage
    points for the error ratio."""

    p50_latency: Tolerance = 0.10
    p95_latency: Tolerance = 0.10
    p99_latency: Tolerance = 0.20
    ttft_p95: Tolerance = 0.10
    throughput: Tolerance = 0.05
    error_ratio: Tolerance = 0.01
    on_inconclusive: Policy = "warn"
    noise: Tolerance = 0.05  # run-to-run CV assumed when the baseline has < 3 runs
    canary_error_points: Tolerance = 0.05
    canary_p95_increase: Duration = 0.1
    capacity: Tolerance = 0.10  # slocheck capacity --history: a drop of more is a regression

    def tolerances(self) -> dict[str, float]:
        return {
            k: getattr(self, k)
            for k in (
                "p50_latency",
                "p95_latency",
                "p99_latency",
                "ttft_p95",
                "throughput",
                "error_ratio",
                "capacity",
            )
        }


class CostSpec(_Strict):
    """What the serving hardware costs: ``slocheck sweep`` and ``capacity`` give the cost of a
    million output tokens at the highest load that met every SLO."""

    per_hour: float = Field(gt=0, le=1_000_000)
    currency: str = Field(default="USD", min_length=1, max_length=8, pattern=r"^[A-Za-z$€£¥]+$")


class Spec(_Strict):
    version: Literal[1]
    service: ServiceSpec = ServiceSpec()
    target: TargetSpec | None = None
    prometheus: PrometheusSpec = PrometheusSpec()
    load: LoadSpec = LoadSpec()
    slos: list[SloSpec] = Field(min_length=1)
    regression: RegressionSpec = RegressionSpec()
    cost: CostSpec | None = None
    # where runs are kept and compared (--history wins, $SLOCHECK_HISTORY after): a SQLite path or
    # a postgresql:// URL without its password
    history: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("history")
    @classmethod
    def _no_password(cls, v: str | None) -> str | None:
        if v is not None and "://" in v and urlsplit(v).password:
            raise ValueError(
                "secrets never go inline: give the URL without its password, and the password "
                "in PGPASSWORD or ~/.pgpass"
            )
        return v

    #: the SLO period of the generated production rules (error budget, slowest burn window)
    period: Duration = Field(default=28 * 86400.0, ge=3600, le=400 * 86400)
