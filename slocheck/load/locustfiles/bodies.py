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
from dataclasses import asdict, dataclass
from pathlib import Path

from slocheck.load.locustfiles.datasets import Turn, read_text_file

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
    raw = read_text_file(path).encode()
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


#: How token lengths are drawn per request (GuideLLM, AIPerf, vLLM's random dataset).
LENGTH_DISTRIBUTIONS = ("normal", "fixed", "uniform", "lognormal")
#: The longest length a request may draw (a typo guard, not a model limit).
MAX_LENGTH = 1_000_000


@dataclass(frozen=True)
class Lengths:
    """Token lengths drawn per request, whole numbers from ``min`` (at least 1) to ``max``:

    * ``normal``: mean and stddev (a stddev of 0 is ``fixed``);
    * ``fixed``: the mean, every time;
    * ``uniform``: every whole number from ``min`` to ``max`` alike (vLLM's
      ``--random-range-ratio r`` around a length L is ``min: L(1-r), max: L(1+r)``);
    * ``lognormal``: the mean and stddev OF THE LENGTHS (not of their logarithm): the long tail
      of real prompts and answers.

    Draws outside ``min``..``max`` are clipped to them."""

    mean: float = 0.0
    stddev: float = 0.0
    distribution: str = "normal"
    min: int = 1
    max: int | None = None

    def __post_init__(self) -> None:
        d = self.distribution
        if d not in LENGTH_DISTRIBUTIONS:
            raise ValueError(f"distribution {d!r} is not one of {', '.join(LENGTH_DISTRIBUTIONS)}")
        numbers = (self.mean, self.stddev, self.min, self.max or 1)
        if not all(math.isfinite(x) for x in numbers):
            raise ValueError("lengths must be finite numbers")
        if not 1 <= self.min <= (self.max if self.max is not None else MAX_LENGTH) <= MAX_LENGTH:
            raise ValueError(f"expected 1 <= min <= max <= {MAX_LENGTH:,}")
        if d == "uniform":
            if self.max is None:
                raise ValueError("uniform lengths need min and max")
        elif not (self.mean >= 1 and self.stddev >= 0):
            raise ValueError(
                f"expected a mean >= 1 and a stddev >= 0, got ({self.mean:g}, {self.stddev:g})"
            )
        if d == "fixed" and self.stddev:
            raise ValueError("fixed lengths have no stddev")

    def draw(self, rng: random.Random) -> int:
        """One length."""
        d, mean, sd = self.distribution, self.mean, self.stddev
        if d == "uniform":
            assert self.max is not None
            return rng.randint(self.min, self.max)
        if d == "fixed" or sd == 0:
            value = mean
        elif d == "lognormal":  # the log's parameters that give this mean and stddev
            sigma2 = math.log1p((sd / mean) ** 2)
            value = rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
        else:
            value = rng.gauss(mean, sd)
        top = self.max if self.max is not None else MAX_LENGTH
        return min(top, max(self.min, round(value)))

    def encode(self) -> str:
        """The setting the built-in users read (``SLOCHECK_INPUT_TOKENS``): JSON."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, text: str, default: Lengths) -> Lengths:
        return cls(**json.loads(text)) if text else default


def encode_lengths(value: Lengths | None) -> str:
    return "" if value is None else value.encode()


#: Synthetic prompts when neither ``prompts`` nor ``input_tokens`` is given.
DEFAULT_INPUT_TOKENS = Lengths(32.0, 8.0)
#: ``max_tokens`` drawn per request when neither a prompt line nor ``output_tokens`` sets it.
DEFAULT_OUTPUT_TOKENS = Lengths(16.0, 4.0)


def synthetic_prompt(rng: random.Random, words: int) -> Turn:
    """A prompt of ``words`` words (about as many tokens), its ``max_tokens`` left to draw."""
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return Turn(({"role": "user", "content": text},))


def prefixes(count: int, words: int, seed: int) -> list[str]:
    """``count`` shared system prompts of ``words`` words each (about as many tokens), seeded:
    the same spec sends the same prefixes, run after run."""
    rng = random.Random(f"prefix-{seed}")
    return [" ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(count)]


def with_prefix(turn: Turn, prefix: str | None) -> Turn:
    """``turn`` with ``prefix`` as a system message before its own (chat), which the
    completions endpoint receives as the first line of its prompt (``Turn.text``)."""
    if prefix is None:
        return turn
    return Turn(({"role": "system", "content": prefix}, *turn.messages), turn.max_tokens)
