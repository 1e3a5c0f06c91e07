"""Request bodies of the built-in API users: payloads and synthetic prompts (the prompts files
are datasets: ``datasets.py``).

Pure (standard library only), so that ``slocheck run`` validates the same files, with the same
code, before Locust starts, and the users inside Locust read them without surprises. Errors are
``ValueError`` with a message that names the line; the runner prefixes the spec field.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from slocheck.load.locustfiles.datasets import Turn

#: Synthetic prompts when neither ``prompts`` nor ``input_tokens`` is given: (mean, stddev).
DEFAULT_INPUT_TOKENS = (32.0, 8.0)
#: ``max_tokens`` drawn per request when neither a prompt line nor ``output_tokens`` sets it.
DEFAULT_OUTPUT_TOKENS = (16.0, 4.0)
#: Words of synthetic prompts: one word is about one token for most tokenizers' common words.
WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "seven",
    "small",
    "birds",
    "sing",
    "about",
    "river",
    "stones",
    "under",
    "old",
    "bridges",
    "near",
    "green",
    "hills",
    "and",
    "tall",
    "trees",
    "in",
    "morning",
    "light",
    "with",
    "clouds",
)
JSONL_SUFFIXES = (".jsonl", ".ndjson")


def read_payload(path: Path) -> list[bytes]:
    """The bodies to send, in turn. A JSONL file (``.jsonl``, ``.ndjson``): every non-empty line,
    VERBATIM, malformed or not (testing how a server answers bad bodies is a use). Any other
    file: one body, which must be JSON (a typo there is a mistake, not a test)."""
    raw = _read(path).encode()
    if path.suffix.lower() in JSONL_SUFFIXES:
        bodies = [line.rstrip(b"\r") for line in raw.split(b"\n") if line.strip()]
        if not bodies:
            raise ValueError("holds no body (every line is empty)")
        return bodies
    try:
        json.loads(raw)
    except ValueError as e:
        raise ValueError(
            f"is not JSON ({e}); to send malformed bodies on purpose use a .jsonl file"
        ) from None
    return [raw.strip()]


def _read(path: Path) -> str:
    if not path.is_file():
        raise ValueError(f"{str(path)!r} does not exist or is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot be read: {e}") from None


def check_tokens(value: tuple[float, float]) -> tuple[float, float]:
    """A (mean, stddev) pair of token counts: mean >= 1, stddev >= 0."""
    if len(value) != 2:
        raise ValueError(f"expected (mean, stddev), got {value!r}")
    mean, std = float(value[0]), float(value[1])
    if not (math.isfinite(mean) and math.isfinite(std) and mean >= 1 and std >= 0):
        raise ValueError(f"expected a mean >= 1 and a stddev >= 0, got ({mean:g}, {std:g})")
    return mean, std


def encode_tokens(value: tuple[float, float] | None) -> str:
    return "" if value is None else f"{value[0]!r},{value[1]!r}"


def decode_tokens(text: str, default: tuple[float, float]) -> tuple[float, float]:
    if not text:
        return default
    mean, _, std = text.partition(",")
    return float(mean), float(std or 0)


def draw(rng: random.Random, spec: tuple[float, float]) -> int:
    """A whole number of tokens from a normal distribution, at least 1."""
    mean, std = spec
    return max(1, round(rng.gauss(mean, std) if std > 0 else mean))


def synthetic_prompt(rng: random.Random, words: int) -> Turn:
    """A prompt of ``words`` words (about as many tokens), its ``max_tokens`` left to draw."""
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return Turn(({"role": "user", "content": text},))
