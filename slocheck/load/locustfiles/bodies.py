"""Request bodies of the built-in API users: prompts, payloads and synthetic prompt lengths.

Pure (standard library only), so that ``slocheck run`` validates the same files, with the same
code, before Locust starts, and the users inside Locust read them without surprises. Errors are
``ValueError`` with a message that names the line; the runner prefixes the spec field.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Prompt:
    """One prompt: chat ``messages`` (always set) and the same text as one ``prompt``."""

    messages: list[dict[str, Any]]
    text: str
    max_tokens: int | None = None


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def parse_prompt(line: str, number: int) -> Prompt:
    """One line of a prompts file: ``{"prompt": "..."}`` or ``{"messages": [...]}``, with an
    optional ``max_tokens``."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ValueError(f"line {number} is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"line {number}: expected a JSON object, got {type(data).__name__}")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise ValueError(f"line {number}: max_tokens must be a whole number >= 1")
    if isinstance(data.get("prompt"), str) and data["prompt"].strip():
        text = data["prompt"]
        return Prompt([{"role": "user", "content": text}], text, max_tokens)
    messages = data.get("messages")
    if (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        text = "\n".join(_message_text(m) for m in messages)
        return Prompt(messages, text, max_tokens)
    raise ValueError(
        f'line {number}: expected "prompt" (a non-empty string) or "messages" '
        '(a list of {"role": ..., "content": ...})'
    )


def read_prompts(path: Path) -> list[Prompt]:
    """Every prompt of a JSONL file; empty lines are skipped, any other bad line is an error."""
    text = _read(path)
    prompts = [
        parse_prompt(line, n) for n, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not prompts:
        raise ValueError("holds no prompt")
    return prompts


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


def synthetic_prompt(rng: random.Random, words: int) -> Prompt:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return Prompt([{"role": "user", "content": text}], text)
