"""The cross-check of the tokens the client asked for against what the server says it sent
(pure): an answer longer than its request's ``max_tokens`` means the server ignored it, and
every figure per token (output tokens/s, TPOT, goodput's bounds) then measures another load
than the spec's."""

from __future__ import annotations

from collections.abc import Sequence

from slocheck.evaluate.crosscheck import CrossCheck
from slocheck.evaluate.details import CheckDetails
from slocheck.request_record import RequestRecord


def max_tokens_honoured(records: Sequence[RequestRecord]) -> CrossCheck | None:
    """Over the answers that say both (the request's ``max_tokens``, the server's
    ``usage.completion_tokens`` or the chunks counted): none may be longer. None when no
    request asked for a length (not the OpenAI API)."""
    asked = [
        r for r in records if r.ok and r.max_tokens is not None and r.output_tokens is not None
    ]
    if not asked:
        return None
    over = [r for r in asked if (r.output_tokens or 0) > (r.max_tokens or 0)]
    details: CheckDetails = {"answers": len(asked), "over_max_tokens": len(over)}
    if not over:
        return CrossCheck(
            "max_tokens",
            True,
            f"no answer was longer than the max_tokens it asked for ({len(asked):,} answers)",
            details,
        )
    worst = max(over, key=lambda r: (r.output_tokens or 0) - (r.max_tokens or 0))
    return CrossCheck(
        "max_tokens",
        False,
        f"{len(over):,} of {len(asked):,} answers were longer than the max_tokens they asked "
        f"for (one of {worst.output_tokens:,} tokens for {worst.max_tokens:,}): the server "
        "ignores max_tokens, so the token figures measure another load than the spec's",
        details,
    )
