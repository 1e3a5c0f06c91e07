"""SLIs judged from what the load generator measured (``source: client``), and the stricter of
the server's and the client's verdicts (``source: both``). Pure.

The client's latencies come from exact HDR histograms (3 significant digits), so a quantile is
a value, not a bucket; its counts are the requests the load generator sent in the window.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from slocheck.evaluate.details import SideDetails, SloDetails
from slocheck.evaluate.goodput import Goodput
from slocheck.evaluate.intervals import min_samples_for_quantile
from slocheck.evaluate.plan import SliPlan
from slocheck.evaluate.verdicts import (
    Builder,
    SliData,
    SloResult,
    Window,
    rate_verdict,
    ratio_verdict,
)
from slocheck.slofile.kinds import counts_failed_requests, kind
from slocheck.slofile.model import SloSpec
from slocheck.units import format_duration
from slocheck.verdict import Verdict


@dataclass(frozen=True)
class ClientSli:
    """What the load generator measured over the window, for one SLO."""

    what: str  #: the measurements, in words: "requests /v1/chat/completions", "ttft"
    count: int  #: requests sent (latency: observations; token_throughput: tokens received)
    bad: int = 0  #: server errors (5xx), broken streams and requests with no answer
    quantile_s: float | None = None  #: the SLO's percentile, in seconds
    within: int | None = None  #: latency_ratio: observations at or below the threshold
    goodput: Goodput | None = None  #: goodput: the requests by whether they met every constraint


def judge_client(slo: SloSpec, plan: SliPlan, data: ClientSli | None, window: Window) -> SloResult:
    b = Builder(slo, plan, SliData(query=f"client: {data.what}" if data else "client"), window)
    b.details["source"] = "client"
    if data is None:
        return b.result(
            Verdict.NO_DATA,
            "judged from the load generator's measurements, and there are none here "
            "(slocheck verify sends no load: use slocheck run)",
        )
    n = data.count
    noun = kind(slo.sli).rate_of
    if noun is not None:
        if n <= 0:
            return b.result(Verdict.NO_DATA, f"the load generator counted no {noun} in the window")
        return rate_verdict(b, n, noun, " measured by the load generator")
    if n <= 0:
        return b.result(
            Verdict.NO_DATA, f"the load generator recorded no {data.what} in the window"
        )
    if data.goodput is not None:
        return _judge_goodput(b, slo, data.goodput)
    if counts_failed_requests(slo.sli):
        b.details["errors"] = data.bad
        if (early := b.too_few(n, slo.min_samples or 1, "requests")) is not None:
            return early
        if slo.sli == "availability":
            assert slo.objective is not None
            return ratio_verdict(
                b,
                n - data.bad,
                n,
                slo.objective,
                "availability seen by the load generator",
                value=(n - data.bad) / n,
                threshold=slo.objective,
            )
        t = slo.threshold or 0.0
        return ratio_verdict(
            b,
            n - data.bad,
            n,
            1.0 - t,
            "error ratio seen by the load generator",
            value=data.bad / n,
            threshold=t,
            of_bad=True,
        )
    if slo.sli == "latency_ratio":
        assert slo.objective is not None and data.within is not None
        if (early := b.too_few(n, slo.min_samples or 1, "observations")) is not None:
            return early
        return ratio_verdict(
            b,
            data.within,
            n,
            slo.objective,
            f"share of requests within {format_duration(slo.threshold or 0.0)} (load generator)",
            value=data.within / n,
            threshold=slo.objective,
        )
    assert slo.percentile is not None and slo.threshold is not None
    kw: dict[str, Any] = {"unit": "seconds", "op": "<="}
    needed = slo.min_samples or min_samples_for_quantile(slo.percentile / 100)
    if (early := b.too_few(n, needed, "observations", **kw)) is not None:
        return early
    v = data.quantile_s
    if v is None or not math.isfinite(v):
        return b.result(Verdict.NO_DATA, f"no P{slo.percentile:g} of {data.what}", **kw)
    ok = v <= slo.threshold
    return b.result(
        Verdict.PASS if ok else Verdict.FAIL,
        f"P{slo.percentile:g} {format_duration(v)} measured by the load generator "
        f"(exact HDR histogram, {n:,} observations) is "
        f"{'at or below' if ok else 'above'} the threshold {format_duration(slo.threshold)}",
        value=v,
        samples=n,
        **kw,
    )


def _judge_goodput(b: Builder, slo: SloSpec, g: Goodput) -> SloResult:
    """The share of the window's requests that met every constraint, with the interval and
    the minimum of the other ratio SLIs; the report says what kept the others from it."""
    assert slo.objective is not None and slo.constraints is not None
    b.details["constraints"] = str(slo.constraints)
    b.details["failed"] = g.failed
    b.details["missed"] = dict(g.missed)
    if g.unmeasured:
        b.details["unmeasured"] = dict(g.unmeasured)
    b.details["good_per_second"] = g.good_per_second
    b.details["good_output_tokens_per_second"] = g.good_tokens_per_second
    if (early := b.too_few(g.total, slo.min_samples or 1, "requests")) is not None:
        return early
    answered = g.total - g.failed
    if answered and g.unmeasured and max(g.unmeasured.values()) == answered:
        names = ", ".join(sorted(g.unmeasured))
        return b.result(
            Verdict.NO_DATA,
            f"no request of the window has a measure for {names} (only streamed answers "
            "have a time to first token and gaps between tokens)",
            samples=g.total,
        )
    return ratio_verdict(
        b,
        g.good,
        g.total,
        slo.objective,
        f"goodput ({slo.constraints}) seen by the load generator",
        value=g.good / g.total,
        threshold=slo.objective,
    )


#: The stricter verdict wins; a verdict that cannot be trusted beats a pass.
_STRICTER = (
    Verdict.PASS,
    Verdict.WARN,
    Verdict.NO_DATA,
    Verdict.INCONCLUSIVE,
    Verdict.FAIL,
    Verdict.ERROR,
)
_RANK = {v: rank for rank, v in enumerate(_STRICTER)}


def _worse(client: SloResult, server: SloResult) -> bool:
    """Whether the client's verdict is the stricter: a worse verdict, or the same one with a
    value further on the wrong side of the target (its report then shows the worst figure)."""
    if _RANK[client.verdict] != _RANK[server.verdict]:
        return _RANK[client.verdict] > _RANK[server.verdict]
    if client.value is None or server.value is None or client.op != server.op:
        return False
    return client.value < server.value if client.op == ">=" else client.value > server.value


def _side(r: SloResult) -> SideDetails:
    details = r.details.copy()
    details.pop("source", None)
    details.pop("window_seconds", None)
    return {"verdict": r.verdict, "value": r.value, "samples": r.samples, "details": details}


def stricter(server: SloResult, client: SloResult) -> SloResult:
    """``source: both``: the stricter of the two verdicts, showing both values."""
    worst, other = (client, server) if _worse(client, server) else (server, client)
    who: Literal["client", "server"] = "client" if worst is client else "server"
    details: SloDetails = {
        **worst.details,
        "source": "both",
        "judged_by": who,
        # each side's own figures, so that the one not shown (the server's unanswered
        # requests, the client's counts) is still in the report
        "server": _side(server),
        "client": _side(client),
    }
    return dataclasses.replace(
        worst,
        explanation=(
            f"{worst.explanation} [source both: "
            + (
                f"the {'server' if who == 'client' else 'client'} agrees, {other.verdict}: "
                if worst.verdict == other.verdict
                else f"the {who}'s verdict, the stricter; the "
                f"{'server' if who == 'client' else 'client'} says {other.verdict}: "
            )
            + f"{other.explanation}]"
        ),
        details=details,
        query=f"{server.query} | {client.query}",
    )


def counts_requests(slo: SloSpec) -> bool:
    """Whether ``slo`` counts failed requests (availability by requests, error ratio): with
    ``source: server`` its report says how many failures the load generator saw and ignored."""
    return counts_failed_requests(slo.sli) and slo.measurement != "uptime"


def with_ignored_failures(slo: SloSpec, server: SloResult, seen: ClientSli) -> SloResult:
    """``source: server`` where slocheck sent the load: the server's verdict, saying how many
    failures the load generator saw that it ignored (see :func:`counts_requests`)."""
    if not counts_requests(slo) or seen.bad <= 0:
        return server
    return dataclasses.replace(
        server,
        explanation=(
            f"{server.explanation}; source: server ignores the {seen.bad:,} of {seen.count:,} "
            "requests the load generator saw fail"
        ),
        details={**server.details, "client_failures_ignored": seen.bad},
    )
