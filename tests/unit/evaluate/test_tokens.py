"""The answers' lengths against the max_tokens their requests asked for."""

from __future__ import annotations

from typing import Any

from slocheck.evaluate.tokens import max_tokens_honoured
from slocheck.request_record import RequestRecord


def record(**kw: Any) -> RequestRecord:
    base: dict[str, Any] = {
        "name": "/v1/chat/completions",
        "sent": 1.0,
        "end": 2.0,
        "latency": 1.0,
        "status": "200",
        "ok": True,
    }
    return RequestRecord(**{**base, **kw})


def test_answers_within_max_tokens_hold() -> None:
    check = max_tokens_honoured([record(max_tokens=16, output_tokens=16)] * 3)
    assert check is not None and check.ok
    assert check.details == {"answers": 3, "over_max_tokens": 0}


def test_an_answer_longer_than_asked_keeps_the_run_from_passing() -> None:
    records = [record(max_tokens=16, output_tokens=16), record(max_tokens=16, output_tokens=40)]
    check = max_tokens_honoured(records)
    assert check is not None and not check.ok and check.ceiling == "inconclusive"
    assert "1 of 2 answers" in check.message and "40 tokens for 16" in check.message


def test_no_request_that_asked_for_a_length_is_no_check() -> None:
    assert max_tokens_honoured([record(), record(ok=False, max_tokens=5)]) is None
