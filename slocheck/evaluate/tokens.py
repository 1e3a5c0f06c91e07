"""The cross-checks of the tokens the client asked for against what the server says (pure): an
answer longer than its request's ``max_tokens`` means the server ignored it, and every figure
per token (output tokens/s, TPOT, goodput's bounds) then measures another load than the spec's;
a prompt the server counts far longer or shorter than the client did (``load.tokenizer``) means
the client's tokenizer is not the model's, and every prompt length the spec asked for is
wrong."""

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


#: How far a server's count of a prompt may be from the client's: 5% either way, plus what a
#: chat template adds (role markers, control tokens) above it.
PROMPT_TOLERANCE = 0.05
TEMPLATE_TOKENS = 32


def prompt_within(client: int, server: int) -> bool:
    """The server's ``usage.prompt_tokens`` agrees with the client's count of the prompt."""
    low = client * (1 - PROMPT_TOLERANCE)
    return low <= server <= client * (1 + PROMPT_TOLERANCE) + TEMPLATE_TOKENS


def prompt_lengths_agree(records: Sequence[RequestRecord]) -> CrossCheck | None:
    """Over the answers with both counts of their prompt (the client's, from
    ``load.tokenizer``, and the server's ``usage.prompt_tokens``): every one within
    :func:`prompt_within`. None without a tokenizer (the client counted nothing)."""
    both = [
        r for r in records if r.ok and r.prompt_tokens is not None and r.input_tokens is not None
    ]
    if not both:
        return None
    off = [r for r in both if not prompt_within(r.prompt_tokens or 0, r.input_tokens or 0)]
    client = sum(r.prompt_tokens or 0 for r in both)
    server = sum(r.input_tokens or 0 for r in both)
    details: CheckDetails = {
        "answers": len(both),
        "outside": len(off),
        "client_prompt_tokens": client,
        "server_prompt_tokens": server,
    }
    if not off:
        return CrossCheck(
            "prompt_tokens",
            True,
            f"the server counted every prompt as the client's tokenizer did, within 5% "
            f"({len(both):,} answers; {server:,} tokens against {client:,})",
            details,
        )
    worst = max(off, key=lambda r: abs((r.input_tokens or 0) - (r.prompt_tokens or 0)))
    return CrossCheck(
        "prompt_tokens",
        False,
        f"{len(off):,} of {len(both):,} prompts were counted otherwise by the server (one of "
        f"{worst.prompt_tokens:,} tokens by load.tokenizer was {worst.input_tokens:,} to the "
        "server): the tokenizer is not the model's, so the prompt lengths asked for were not "
        "the lengths sent",
        details,
    )
