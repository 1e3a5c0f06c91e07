"""Numbers in, verdicts out (pure). Fail closed: no data, too few samples, NaN or an empty
answer is never a pass."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from slocheck.evaluate.counters import (
    Series,
    Totals,
    sum_deltas,
)
from slocheck.evaluate.details import SloDetails
from slocheck.evaluate.intervals import wilson_interval
from slocheck.evaluate.plan import SliPlan, render
from slocheck.slofile.model import SloSpec
from slocheck.verdict import Verdict, as_gate

STATUS_LABELS = ("status", "code", "status_code", "http_response_status_code")
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class Window:
    """The judged window ``(start, end]``.

    ``settle``: counters are read from samples up to ``end + settle``. When the load stopped at
    ``end`` (``slocheck run``), the first scrape after ``end`` holds the exact final count, and
    nothing after ``end`` can add to it. Rates still use ``end - start``.
    """

    start: float
    end: float
    settle: float = 0.0

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def read_until(self) -> float:
        return self.end + self.settle


@dataclass(frozen=True)
class SliData:
    """What Prometheus answered for one SLO."""

    series: Sequence[Series] | None = None  # raw samples (built-in SLIs)
    total_series: Sequence[Series] | None = None  # sli ratio: the raw samples of all requests
    # requests SLIs: the raw samples of the plan's ``fetch_errors`` (more failures)
    error_series: Sequence[Series] | None = None
    values: Sequence[float] | None = None  # one value per series returned (promql)
    query: str = ""  # what was sent
    # requests the load generator sent that got no HTTP answer at all (the service was down):
    # the server never counted them, availability and error ratio count them as failed
    unanswered: int = 0
    # what Prometheus warned of in its answers (a partial response): see evaluate.answers
    warnings: Sequence[str] = ()


@dataclass(frozen=True)
class SloResult:
    name: str
    sli: str
    severity: str
    verdict: Verdict
    gate: Verdict
    value: float | None
    threshold: float | None
    objective: float | None
    op: str
    unit: str
    query: str
    promql: str
    samples: int | None
    explanation: str
    details: SloDetails = field(default_factory=SloDetails)


def overall(results: Sequence[SloResult]) -> Verdict:
    gates = {r.gate for r in results}
    if Verdict.FAIL in gates or not results:
        return Verdict.FAIL
    return Verdict.WARN if Verdict.WARN in gates else Verdict.PASS


_RANGE_AT = re.compile(r"\[[0-9]+(?:ms|s)\] @ [0-9]+(?:\.[0-9]*)?")


def series_words(query: str) -> str:
    """``up[360s] @ 1796200358.103`` -> ``up``: the series a message names, without the range
    and the unix time of the fetch (the window is said once, as the user wrote it; the exact
    query stays in the report's details)."""
    return _RANGE_AT.sub("", query)


def pct(ratio: float) -> str:
    """99.95% style, with enough digits to tell 99.9% from 99.95%."""
    if not math.isfinite(ratio):
        return str(ratio)
    text = f"{ratio * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def gate_of(slo: SloSpec, verdict: Verdict) -> Verdict:
    """What an SLO's verdict does to the gate: its policy for no data and inconclusive (the
    spec's ``on_no_data``, ``on_inconclusive``), pass and warn as they are, fail otherwise."""
    policy = {Verdict.NO_DATA: slo.on_no_data, Verdict.INCONCLUSIVE: slo.on_inconclusive}.get(
        verdict
    )
    if policy is not None:
        gate = as_gate(policy)
    elif verdict in (Verdict.PASS, Verdict.WARN):
        gate = Verdict(verdict)
    else:
        gate = Verdict.FAIL
    if slo.severity == "warning" and gate == Verdict.FAIL:
        return Verdict.WARN  # a warning SLO only ever warns
    return gate


class Builder:
    def __init__(self, slo: SloSpec, plan: SliPlan, data: SliData, window: Window) -> None:
        self.slo, self.window, self.plan = slo, window, plan
        self.query = data.query
        self.promql = render(plan.promql, window.seconds)
        self.details: SloDetails = {"window_seconds": round(window.seconds, 3)}
        self.suffix = ""  # appended to the explanation
        if slo.sli == "latency_ratio":
            self.details["threshold_seconds"] = slo.threshold

    def result(
        self,
        verdict: Verdict,
        explanation: str,
        *,
        value: float | None = None,
        samples: float | None = None,
        unit: str = "ratio",
        op: str = ">=",
        threshold: float | None = None,
    ) -> SloResult:
        slo = self.slo
        if verdict == Verdict.FAIL and slo.severity == "warning":
            verdict = Verdict.WARN
        return SloResult(
            name=slo.name,
            sli=slo.sli,
            severity=slo.severity,
            verdict=verdict,
            gate=gate_of(slo, verdict),
            value=value,
            threshold=threshold if threshold is not None else slo.threshold,
            objective=slo.objective,
            op=op,
            unit=unit,
            query=self.query,
            promql=self.promql,
            samples=None if samples is None else round(samples),
            explanation=explanation + self.suffix,
            details=self.details,
        )

    def notes(self, totals: Totals) -> None:
        if totals.notes:
            self.details.setdefault("notes", []).extend(totals.notes)
        if totals.last_sample_at is not None:
            lag = self.window.read_until - totals.last_sample_at
            self.details["newest_sample_lag_seconds"] = round(lag, 3)

    def count_unanswered(self, lost: int) -> None:
        """Say that ``lost`` requests with no HTTP answer were counted as failed."""
        self.details["unanswered"] = lost
        self.suffix = (
            f"; {lost:,} of these requests got no answer at all (connection refused or reset, "
            "or a timeout: the service was down or unreachable), counted as failed since the "
            "server could not count them"
        )

    def too_few(self, n: float, needed: int, what: str, **kw: Any) -> SloResult | None:
        if n < needed:
            self.details["min_samples"] = needed
            return self.result(
                Verdict.INCONCLUSIVE,
                f"only {n:,.0f} {what} in the window; at least "
                f"{needed:,} are needed to judge this SLO (min_samples)",
                samples=n,
                **kw,
            )
        return None


def status_of(labels: Any) -> str | None:
    """The HTTP status of a series, from its status, code or status_code label."""
    for name in STATUS_LABELS:
        if name in labels:
            return str(labels[name])
    return None


def ratio_verdict(
    b: Builder,
    good: float,
    n: float,
    objective: float,
    noun: str,
    *,
    value: float,
    threshold: float | None = None,
    of_bad: bool = False,
) -> SloResult:
    """Judge ``good / n >= objective`` with a Wilson interval. ``of_bad`` shows everything as
    the complementary (bad) share, as an error ratio is read (at most the threshold)."""
    lo, hi = wilson_interval(good, n)
    b.details["good"], b.details["total"] = good, n
    shown_lo, shown_hi, target = (1 - hi, 1 - lo, 1 - objective) if of_bad else (lo, hi, objective)
    b.details["interval95"] = [shown_lo, shown_hi]
    interval = f"95% interval {pct(shown_lo)} to {pct(shown_hi)}"
    goal = f"{'at most' if of_bad else 'at least'} {pct(target)}"
    if lo >= objective:
        verdict: Verdict = Verdict.PASS
        text = f"{noun} {pct(value)} meets the objective {goal} ({interval}, all within it)"
    elif hi < objective:
        verdict = Verdict.FAIL
        text = f"{noun} {pct(value)} misses the objective {goal} ({interval}, all outside it)"
    else:
        verdict = Verdict.INCONCLUSIVE
        what = "scrapes" if "scrape" in noun else "requests"
        text = (
            f"{noun} {pct(value)} cannot be told apart from the objective {goal} after "
            f"{n:,.0f} {what} ({interval}); more load would decide"
        )
    op = "<=" if of_bad else ">="  # the bad share at most, or the good share at least
    return b.result(verdict, text, value=value, samples=n, op=op, threshold=threshold)


def judge_requests(b: Builder, data: SliData) -> SloResult:
    slo = b.slo
    series = list(data.series or [])
    if not series:
        return b.result(
            Verdict.NO_DATA, f"no series matched {series_words(data.query)} in the window"
        )
    totals = sum_deltas(series, b.window.start, b.window.read_until)
    b.notes(totals)
    n = totals.total
    if slo.sli == "throughput":
        if (early := b.too_few(n, slo.min_samples or 1, "requests", unit="requests/s")) is not None:
            return early
        return rate_verdict(b, n, "requests")
    lost = data.unanswered
    if n <= 0 and not lost:
        return b.result(Verdict.NO_DATA, f"0 requests counted by {data.query} in the window")
    label, values = b.plan.error_label, b.plan.error_values
    if label is None:
        labelled = [s for s in series if status_of(s.labels) is not None]
        errors = [s for s in labelled if (status_of(s.labels) or "").startswith("5")]
        names = ", ".join(STATUS_LABELS)
    else:
        # the preset says which series are errors; a series without its label is not one
        # (TGI's success counter has no err label; its failure counter has no series until
        # the first failure)
        labelled = series
        errors = [s for s in series if re.fullmatch(values, s.labels.get(label, "\x00"))]
        names = label
    if not labelled and not lost:
        return b.result(
            Verdict.NO_DATA,
            f"the series of {data.query} have no status label ({names}): cannot tell errors apart",
            samples=n,
        )
    bad = sum_deltas(errors, b.window.start, b.window.read_until).total
    if data.error_series:
        also = sum_deltas(list(data.error_series), b.window.start, b.window.read_until).total
        b.details["also_errors"] = also
        bad += also
    if lost:
        n, bad = n + lost, bad + lost
        b.count_unanswered(lost)
    b.details["errors"] = bad
    if (early := b.too_few(n, slo.min_samples or 1, "requests")) is not None:
        return early
    if slo.sli == "availability":
        assert slo.objective is not None
        return ratio_verdict(
            b,
            n - bad,
            n,
            slo.objective,
            "availability",
            value=(n - bad) / n,
            threshold=slo.objective,
        )
    threshold = slo.threshold or 0.0  # error_ratio: bad share <= threshold
    return ratio_verdict(
        b,
        n - bad,
        n,
        1.0 - threshold,
        "error ratio",
        value=bad / n,
        threshold=threshold,
        of_bad=True,
    )


def rate_verdict(b: Builder, n: float, noun: str, by: str = "") -> SloResult:
    """``n`` requests (or output tokens) over the window against the minimum rate; ``by``
    says who counted them when not the server."""
    seconds = b.window.seconds
    unit = f"{noun.rsplit(maxsplit=1)[-1]}/s"
    rate = n / seconds if seconds > 0 else math.nan
    ok = rate >= (b.slo.threshold or 0.0)
    return b.result(
        Verdict.PASS if ok else Verdict.FAIL,
        f"{rate:,.2f} {unit}{by} ({n:,.0f} {noun} in {seconds:,.1f} s) "
        f"{'meets' if ok else 'is below'} the minimum {b.slo.threshold:g} {unit}",
        value=rate,
        samples=n,
        unit=unit,
    )


def judge_token_rate(b: Builder, data: SliData) -> SloResult:
    """``token_throughput``: the increase of a counter of generated tokens per second."""
    series = list(data.series or [])
    if not series:
        return b.result(
            Verdict.NO_DATA,
            f"no series matched {series_words(data.query)} in the window",
            unit="tokens/s",
        )
    totals = sum_deltas(series, b.window.start, b.window.read_until)
    b.notes(totals)
    n = totals.total
    if n <= 0:
        return b.result(Verdict.NO_DATA, "0 tokens counted in the window", unit="tokens/s")
    return rate_verdict(b, n, "output tokens")


def judge_ratio(b: Builder, data: SliData) -> SloResult:
    """``sli: ratio``: the good (or bad) counter over the total, counted exactly. A counter of
    errors with no series has counted no error yet: 0, not an empty answer."""
    slo = b.slo
    assert slo.objective is not None
    which: Literal["good", "bad"] = "good" if slo.good is not None else "bad"
    total_series = list(data.total_series or [])
    if not total_series:
        return b.result(Verdict.NO_DATA, f"no series matched the total ({b.plan.fetch_total})")
    totals = sum_deltas(total_series, b.window.start, b.window.read_until)
    b.notes(totals)
    n = totals.total
    counted_series = list(data.series or [])
    counted = sum_deltas(counted_series, b.window.start, b.window.read_until).total
    if not counted_series:
        b.details.setdefault("notes", []).append(
            f"no series matched the {which} counter ({b.plan.fetch}): counted as 0, as a "
            "counter that was never incremented"
        )
    lost = data.unanswered
    if n <= 0 and not lost:
        return b.result(Verdict.NO_DATA, f"0 requests counted by the total ({b.plan.fetch_total})")
    if counted > n:
        return b.result(
            Verdict.ERROR,
            f"the {which} counter counted {counted:,.0f} requests, more than the total's "
            f"{n:,.0f}: do the two selectors count the same requests?",
            samples=n,
        )
    good = counted if slo.good is not None else n - counted
    if lost:
        n += lost
        b.count_unanswered(lost)
    b.details[which] = counted
    if (early := b.too_few(n, slo.min_samples or 1, "requests")) is not None:
        return early
    return ratio_verdict(
        b, good, n, slo.objective, "good share", value=good / n, threshold=slo.objective
    )


def judge_uptime(b: Builder, data: SliData) -> SloResult:
    values = [
        v
        for s in data.series or []
        for t, v in s.samples
        if b.window.start < t <= b.window.read_until and math.isfinite(v)
    ]
    if not values:
        return b.result(Verdict.NO_DATA, f"no samples of {series_words(data.query)} in the window")
    n = len(values)
    if (early := b.too_few(n, b.slo.min_samples or 1, "scrapes")) is not None:
        return early
    good = sum(1 for v in values if v >= 1)
    assert b.slo.objective is not None
    return ratio_verdict(
        b,
        good,
        n,
        b.slo.objective,
        "uptime over scrapes",
        value=good / n,
        threshold=b.slo.objective,
    )


def judge_promql(b: Builder, data: SliData) -> SloResult:
    slo = b.slo
    assert slo.op is not None and slo.threshold is not None
    values = list(data.values or [])
    kw: dict[str, Any] = {"unit": "number", "op": slo.op}
    if not values:
        return b.result(Verdict.NO_DATA, "the query returned an empty result", **kw)
    if len(values) > 1:
        return b.result(
            Verdict.ERROR,
            f"the query returned {len(values)} series; aggregate it to one (sum, max, ...)",
            **kw,
        )
    v = values[0]
    if math.isnan(v):
        return b.result(
            Verdict.NO_DATA,
            "the query returned NaN (a 0/0, say: nothing was counted)",
            value=v,
            **kw,
        )
    ok = OPS[slo.op](v, slo.threshold)
    return b.result(
        Verdict.PASS if ok else Verdict.FAIL,
        f"value {v:g} {'satisfies' if ok else 'does not satisfy'} {slo.op} {slo.threshold:g}",
        value=v,
        **kw,
    )
