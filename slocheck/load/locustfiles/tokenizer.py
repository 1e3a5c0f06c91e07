"""Exact token lengths with the model's own tokenizer (``load.tokenizer``: a Hugging Face
``tokenizer.json``), through the optional ``tokenizers`` package
(``pip install 'slocheck[tokenizers]'``).

Without one, a synthetic prompt is a number of common English words, about a token each for
most tokenizers. With one, every prompt the built-in OpenAI user builds is cut to its length in
that tokenizer's tokens, and every prompt it sends is counted (``prompt_tokens`` in its
record), so the ``prompt_tokens`` cross-check can hold the server's count to it: a tokenizer
that is not the model's shows, instead of silently sending other lengths than the spec's.

Standard library only at import: ``tokenizers`` is imported when a tokenizer is loaded.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class PromptTokenizer:
    """One tokenizer: counts a text's tokens (no special tokens: what a chat template adds is
    the server's), and builds prompts of an exact length."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    @classmethod
    def from_file(cls, path: Path) -> PromptTokenizer:
        """A ``tokenizer.json``; ValueError saying what to do when it cannot be loaded."""
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ValueError(
                "needs the tokenizers package: pip install 'slocheck[tokenizers]'"
            ) from None
        if not path.is_file():
            raise ValueError(f"{str(path)!r} does not exist or is not a file")
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as e:  # the Rust library raises its own exception types
            raise ValueError(f"is not a tokenizer.json the tokenizers library reads: {e}") from None

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_all(self, texts: Sequence[str]) -> int:
        return sum(self.count(t) for t in texts)

    def fit(self, words: Sequence[str], tokens: int) -> str:
        """The longest run of ``words`` from the first whose text is at most ``tokens`` tokens
        (as close below as whole words allow; a bisection: at most ~log2(words) encodings)."""
        if self.count(" ".join(words)) <= tokens:
            return " ".join(words)
        lo, hi = 1, len(words)  # the answer k: count(words[:k]) <= tokens, k largest
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.count(" ".join(words[:mid])) <= tokens:
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo])

    def prompt(self, rng: random.Random, tokens: int, vocabulary: Sequence[str]) -> str:
        """A prompt of ``tokens`` tokens of words drawn from ``vocabulary``."""
        return self.fit([rng.choice(vocabulary) for _ in range(tokens)], tokens)
