"""Each SLI read back in words (evaluate.readback.sentence)."""

from __future__ import annotations

from typing import Any

import pytest

from slocheck.evaluate.readback import sentence, undecidable, unpaced
from slocheck.slofile import parse_spec
from slocheck.slofile.model import SloSpec, Source


def slo(**kw: Any) -> SloSpec:
    return SloSpec.model_validate({"name": "x", **kw})


@pytest.mark.parametrize(
    ("spec", "source", "text"),
    [
        (
            {"sli": "latency", "percentile": 95, "threshold": "500ms"},
            "both",
            "P95 of latency on /v1/classify at or below 500 ms, from the server and the client "
            "(the stricter wins)",
        ),
        (
            {"sli": "ttft", "percentile": 99, "threshold": "2s"},
            "client",
            "P99 of time to first token at or below 2 s, from the client (the load generator)",
        ),
        (
            {"sli": "inter_token_latency", "percentile": 50, "threshold": "75ms"},
            "server",
            "P50 of inter-token latency on /v1/classify at or below 75 ms, from the server",
        ),
        (
            {"sli": "availability", "objective": "99.9%", "measurement": "uptime"},
            "server",
            "uptime on /v1/classify (the share of scrapes that found the target up) at least "
            "99.9%, from the server",
        ),
        (
            {"sli": "latency_ratio", "threshold": "250ms", "objective": "99%"},
            "server",
            "at least 99% of requests on /v1/classify answered within 250 ms, from the server",
        ),
        (
            {"sli": "error_ratio", "threshold": "0.1%"},
            "server",
            "error ratio on /v1/classify (server errors / requests) at or below 0.1%, from the "
            "server",
        ),
        (
            {"sli": "token_throughput", "threshold": 200},
            "server",
            "generated tokens on /v1/classify at least 200 tokens/s, from the server",
        ),
        (
            {"sli": "ratio", "objective": "99%", "good": "ok_total", "total": "all_total"},
            "server",
            "ok_total / all_total at least 99%, from the server",
        ),
        (
            {"sli": "promql", "query": "sum(x)", "op": "<", "threshold": 3},
            "server",
            "the query's value < 3, from the server",
        ),
    ],
)
def test_each_sli_reads_as_a_sentence(spec: dict[str, Any], source: Source, text: str) -> None:
    assert sentence(slo(**spec), source, 'job="a", endpoint="/v1/classify"') == text


def test_a_decidable_spec_and_a_paced_loop_have_nothing_to_say() -> None:
    loaded = parse_spec(
        "version: 1\nload: {rate: 50, duration: 60s}\nslos:\n"
        "  - {name: p99, sli: latency, percentile: 99, threshold: 1s}\n"
    )
    assert undecidable(loaded.spec.slos[0], loaded.spec) is None
    assert unpaced(loaded.spec) is None


def test_messages_name_the_series_not_the_range_and_unix_time() -> None:
    from slocheck.evaluate.verdicts import series_words

    assert series_words("up[360s] @ 1796200358.103") == "up"
    assert (
        series_words('a_total{job="x"}[71310ms] @ 1796200358.1 and b_total[71310ms] @ 1796200358')
        == 'a_total{job="x"} and b_total'
    )
    assert series_words("sum(rate(x[5m]))") == "sum(rate(x[5m]))"  # a user's PromQL stays
