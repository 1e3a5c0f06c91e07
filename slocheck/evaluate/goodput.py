"""Goodput (``sli: goodput``): the share of requests that met every latency constraint at once,
counted exactly from the load generator's per-request records (pure).

A request is good when it was answered in full (an error, a broken stream or no answer is
never good) and each constraint holds for it: ``ttft``, ``tpot`` (a request of one token has
no time per output token: it meets it, as ``vllm bench serve`` counts), a statistic of its own
inter-token gaps (none: met), ``e2e`` (its latency, in an open loop from its intended send).
A request whose server gave no measure a constraint needs (a ``ttft`` constraint on whole,
unstreamed answers) is not good: it is counted apart, so the report says why.

The requests counted are those that ended in the judged window's whole seconds, as every
other client figure counts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from slocheck.evaluate.verdicts import Window
from slocheck.request_record import RequestRecord
from slocheck.slofile.goodput import GapBound, GoodputConstraints


@dataclass(frozen=True)
class Goodput:
    """The window's requests, by whether they met every constraint."""

    total: int  #: requests that ended in the window
    good: int  #: answered in full and within every constraint
    failed: int  #: not answered in full (errors, broken streams, no answer)
    #: per constraint: the answered requests that missed it (one request may miss several)
    missed: dict[str, int] = field(default_factory=dict)
    #: per constraint: the answered requests with no measure for it (not streamed)
    unmeasured: dict[str, int] = field(default_factory=dict)
    good_output_tokens: int = 0  #: the output tokens of the good requests
    seconds: float = 0.0  #: the window's length

    @property
    def attainment(self) -> float | None:
        return self.good / self.total if self.total else None

    @property
    def good_per_second(self) -> float:
        return self.good / self.seconds if self.seconds > 0 else 0.0

    @property
    def good_tokens_per_second(self) -> float:
        return self.good_output_tokens / self.seconds if self.seconds > 0 else 0.0


def measure(record: RequestRecord, name: str, bound: float | GapBound) -> float | None:
    """The request's figure for constraint ``name``; None when it has none to compare.
    ``tpot`` and gaps of a one-token answer are 0 (nothing to wait for after the first)."""
    if name == "ttft":
        return record.ttft
    if name == "tpot":
        if record.tpot is None and record.ttft is not None:
            return 0.0 if (record.output_tokens or 0) <= 1 else None
        return record.tpot
    if name == "inter_token_latency":
        assert isinstance(bound, GapBound)
        if record.itl is None:
            return 0.0 if record.ttft is not None and (record.output_tokens or 0) <= 1 else None
        return record.itl.statistic(bound.statistic)
    return record.latency  # e2e


def misses(record: RequestRecord, constraints: GoodputConstraints) -> tuple[list[str], list[str]]:
    """(the constraints ``record`` missed, those it has no measure for)."""
    missed: list[str] = []
    unknown: list[str] = []
    for name, bound in constraints.given().items():
        value = measure(record, name, bound)
        limit = bound.threshold if isinstance(bound, GapBound) else bound
        if value is None:
            unknown.append(name)
        elif value > limit:
            missed.append(name)
    return missed, unknown


def count_goodput(
    records: Iterable[RequestRecord], constraints: GoodputConstraints, window: Window
) -> Goodput:
    """The goodput of the requests that ended in ``window``."""
    total = good = failed = tokens = 0
    missed: dict[str, int] = {}
    unmeasured: dict[str, int] = {}
    for r in records:
        if not window.start <= r.second < window.end + 1:
            continue
        total += 1
        if not r.ok:
            failed += 1
            continue
        over, unknown = misses(r, constraints)
        for name in over:
            missed[name] = missed.get(name, 0) + 1
        for name in unknown:
            unmeasured[name] = unmeasured.get(name, 0) + 1
        if not over and not unknown:
            good += 1
            tokens += r.output_tokens or 0
    return Goodput(total, good, failed, missed, unmeasured, tokens, float(window.seconds))
