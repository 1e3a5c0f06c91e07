"""What a verdict records beside its value: an SLO's (``SloResult.details``, ``report.json``'s
``slos[].details``) and a cross-check's (``CrossCheck.details``, ``cross_checks[].details``):
every key a judge may write, with its type. A ``TypedDict`` rather than a
dataclass: each judge writes only the keys it has, in the order it found them, and the report
writes exactly those (a dict at the JSON boundary, checked by mypy everywhere else)."""

from __future__ import annotations

from typing import Literal, TypedDict


class SideDetails(TypedDict):
    """``source: both``: one side's own verdict and figures (the other side's are the SLO's)."""

    verdict: str
    value: float | None
    samples: int | None
    details: SloDetails


class SliceDetails(TypedDict):
    """One slice of a window (``slice:``): its bounds (unix seconds) and its own verdict."""

    start: float
    end: float
    verdict: str
    value: float | None
    samples: int | None


class SloDetails(TypedDict, total=False):
    """The details of one SLO's verdict; a key is present only where its judge wrote it."""

    #: every verdict: the judged window's length; ``latency_ratio``: its latency bound
    window_seconds: float
    threshold_seconds: float | None
    #: what was noticed on the way (resets, series born in the window, replicas dropped, ...)
    notes: list[str]
    newest_sample_lag_seconds: float
    #: requests the load generator sent that got no HTTP answer, counted as failed
    unanswered: int
    min_samples: int
    #: ratio verdicts: the good and total counts, the Wilson 95% interval; ``sli: ratio``
    #: records its counter as ``good`` or ``bad``
    good: float
    bad: float
    total: float
    interval95: list[float]
    #: a threshold between two bucket bounds: the good share's bounds
    good_at_least: float
    good_at_most: float
    #: requests SLIs: the failures counted, and those of the plan's extra error series
    errors: float
    also_errors: float
    #: quantile verdicts: the bucket holding the percentile and the value interpolated in it
    bucket_lower: float
    bucket_upper: float
    interpolated: float
    #: an answer that could not be trusted: the check that failed, on which query
    check: str
    query: str
    warnings: list[str]
    unusable_series: list[str]
    largest_sample: float
    returned: str
    #: who judged: ``client`` (the load generator), or ``both`` with each side's figures
    source: Literal["client", "both"]
    judged_by: Literal["client", "server"]
    server: SideDetails
    client: SideDetails
    #: ``source: server`` where slocheck sent the load: the failures the client saw, ignored
    client_failures_ignored: float
    #: goodput: its constraints in words; the requests not answered in full; per constraint,
    #: the answered requests that missed it and those with no measure for it; good requests
    #: and their output tokens per second of the window
    constraints: str
    failed: int
    missed: dict[str, int]
    unmeasured: dict[str, int]
    good_per_second: float
    good_output_tokens_per_second: float
    #: ``slice:``: every slice's verdict, how many passed, the share that must
    slices: list[SliceDetails]
    slices_passed: int
    slices_objective: float


class CheckDetails(TypedDict, total=False):
    """The details of one cross-check of ``slocheck run``; a key is present only where its
    check wrote it."""

    #: request_counts, error_counts: per route, (the client's figure, the server's)
    compared: dict[str, tuple[float, float]]
    client_failed: dict[str, int]  #: the failures the client saw, by status
    server_failed: float
    uncounted: int  #: failures the client saw that the server did not count
    #: p95_agreement
    client_p95_s: float
    server_lower_s: float
    server_upper_s: float
    within_bucket: bool
    #: achieved_load
    achieved_rps: float
    requested_rps: float | None
    requests_in_window: int
    #: dropped (open loop)
    dropped: int
    sent: int
    share: float
    #: first_scrape: when Prometheus first scraped the service (unix seconds)
    first_scrape: float
    #: max_tokens: the answers that gave their length, and those longer than asked
    answers: int
    over_max_tokens: int
    #: prompt_tokens: the prompts counted by both sides, those counted otherwise, the totals
    outside: int
    client_prompt_tokens: int
    server_prompt_tokens: int
    #: stopped_early (abort_on_fail): when the SLO's budget was first seen spent, and when the
    #: load was told to stop (unix seconds)
    budget_spent_at: float
    stop_asked_at: float
