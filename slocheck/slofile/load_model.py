"""``load:`` of the SLO file: how slocheck's load generator drives the service (users, rate,
arrival, a dataset or a trace, synthetic lengths, shared prefixes, the tokenizer). See
docs/slo-spec.md and docs/load-apis.md."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from slocheck.slofile.base import STRICT, Duration
from slocheck.slofile.bounds import (
    MAX_DURATION_S,
    MAX_RATE,
    MAX_USERS,
    MAX_WAIT_S,
    MAX_WARMUP_S,
    MIN_DURATION_S,
)


class _Strict(BaseModel):
    model_config = STRICT


class TokenLength(_Strict):
    """A length in tokens drawn per request: ``normal`` (mean, stddev), ``fixed`` (mean),
    ``uniform`` (min to max) or ``lognormal`` (the lengths' own mean and stddev), clipped to
    ``min`` (at least 1) and ``max``."""

    distribution: Literal["normal", "fixed", "uniform", "lognormal"] = "normal"
    mean: float | None = Field(default=None, ge=1, le=1_000_000)
    stddev: float = Field(default=0.0, ge=0, le=1_000_000)
    min: int = Field(default=1, ge=1, le=1_000_000)
    max: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _the_distributions_fields(self) -> TokenLength:
        d = self.distribution
        if d == "uniform":
            if self.max is None or "min" not in self.model_fields_set:
                raise ValueError("uniform lengths need min and max")
            if self.mean is not None or self.stddev:
                raise ValueError("uniform lengths are given by min and max, not mean and stddev")
        elif self.mean is None:
            raise ValueError(f"{d} lengths need a mean")
        if d == "fixed" and self.stddev:
            raise ValueError("fixed lengths have no stddev")
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class PrefixSpec(_Strict):
    """System prompts that requests share (a server's prefix cache): ``count`` of them, each
    ``tokens`` long, one before every request's own prompt."""

    count: int = Field(ge=1, le=10_000)
    tokens: int = Field(ge=1, le=1_000_000)


class LoadSpec(_Strict):
    scenario: str = "steady"
    users: int = Field(default=16, ge=1, le=MAX_USERS)
    spawn_rate: float | None = Field(default=None, gt=0, le=MAX_RATE)
    duration: Duration = Field(default=30.0, ge=MIN_DURATION_S, le=MAX_DURATION_S)
    warmup: Duration = Field(default=5.0, ge=0, le=MAX_WARMUP_S)
    rate: float | None = Field(
        default=None, gt=0, le=MAX_RATE, description="fixed requests/s in all"
    )
    # closed: each user waits for its answer before its next request (paced to rate); open:
    # requests at intended times whatever the answers do (docs/load-open-loop.md)
    arrival: Literal["closed", "open"] = "closed"
    # open: the gaps between sends; gamma's shape is the burstiness (1: Poisson, below: burstier)
    distribution: Literal["constant", "poisson", "gamma"] = "constant"
    burstiness: float = Field(default=1.0, gt=0, le=1000)
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_USERS)  # open; default: users
    # open: replay a trace's requests (Mooncake JSONL, Azure CSV) at its timestamps divided by
    # speedup; arrival is then open, the rate the trace's
    trace: str | None = None
    speedup: float = Field(default=1.0, gt=0, le=1000)
    # target.api openai: prompts from a JSONL dataset (OpenAI messages, ShareGPT conversations
    # or prompts), or synthetic ones of these lengths
    prompts: str | None = None
    # the dataset's lines in file order or drawn at random (seeded); one request a line, or
    # every turn of a line as a conversation, with a think time between its turns
    sample: Literal["sequential", "random"] = "sequential"
    turns: Literal["one", "all"] = "one"
    think_time: Duration = Field(default=0.0, ge=0, le=MAX_WAIT_S)
    input_tokens: TokenLength | None = None
    output_tokens: TokenLength | None = None
    # target.api openai: shared system prompts before every request's own (prefix caching)
    prefix: PrefixSpec | None = None
    # target.api openai: the model's tokenizer.json: prompts cut to exact token lengths, and
    # counted, so that the prompt_tokens cross-check holds the server's counts to them
    tokenizer: str | None = None
    # target.api kserve-v2 and http: a JSON body, or a JSONL file of bodies used in turn
    payload: str | None = None
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _a_trace_is_open(cls, data: Any) -> Any:
        """A trace is sent at its timestamps: arrival open unless the file says otherwise (then
        the loader names the conflict)."""
        if isinstance(data, dict) and data.get("trace") is not None and "arrival" not in data:
            return {**data, "arrival": "open"}
        return data
