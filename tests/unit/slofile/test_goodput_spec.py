"""``sli: goodput`` in an SLO file: its constraints, read and refused with the fix."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import parse_spec

HEAD = """\
version: 1
target: {api: openai}
slos:
  - name: goodput
    sli: goodput
"""


def test_a_goodput_slo_reads_every_constraint() -> None:
    loaded = parse_spec(
        HEAD
        + """\
    objective: 95%
    constraints:
      ttft: 500ms
      tpot: 50ms
      inter_token_latency: {p95: 100ms}
      e2e: 10s
"""
    )
    c = loaded.spec.slos[0].constraints
    assert c is not None
    assert (c.ttft, c.tpot, c.e2e) == (0.5, 0.05, 10.0)
    assert c.inter_token_latency is not None
    assert (c.inter_token_latency.statistic, c.inter_token_latency.threshold) == ("p95", 0.1)
    assert str(c) == "ttft 500ms, tpot 50ms, inter_token_latency p95 100ms, e2e 10s"


@pytest.mark.parametrize(
    ("body", "line", "says"),
    [
        ("    objective: 95%\n", 4, "constraints"),  # the SLO's line: the field is missing
        ("    constraints: {ttft: 1s}\n", 4, "objective"),
        ("    objective: 95%\n    constraints: {}\n", 7, "at least one of ttft"),
        ("    objective: 95%\n    constraints: {ttft: 0s}\n", 7, "above 0s"),
        ("    objective: 95%\n    constraints: {inter_token_latency: 100ms}\n", 7, "p95: 100ms"),
        (
            "    objective: 95%\n    constraints: {inter_token_latency: {p42: 1s}}\n",
            7,
            "unknown statistic 'p42'",
        ),
        ("    objective: 95%\n    constraints: {ttft: 1s}\n    source: both\n", 8, "source"),
        ("    objective: 95%\n    constraints: {ttft: 1s}\n    threshold: 0.5\n", 8, "no meaning"),
    ],
)
def test_a_goodput_slo_that_cannot_be_judged_is_refused(body: str, line: int, says: str) -> None:
    with pytest.raises(SpecError, match=says) as e:
        parse_spec(HEAD + body, "slos.yaml")
    assert f"slos.yaml:{line}" in str(e.value) or f"line {line}" in str(e.value), str(e.value)
