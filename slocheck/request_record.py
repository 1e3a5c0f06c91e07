"""One request as the load generator saw it: the per-request record that every Locust process
writes (``requests-<pid>.jsonl`` in the load directory), that ``slocheck run`` merges into
``requests.jsonl.gz`` beside its reports, and that goodput is judged from. Standard library
only: the Locust plugin builds these records in Locust's own process.

A record's JSON object (one line of ``requests.jsonl.gz``)::

    {"name": "/v1/chat/completions", "sent": 1796220959.123, "end": 1796220959.871,
     "latency": 0.748, "status": "200", "ok": true, "ttft": 0.051, "tpot": 0.0029,
     "itl": {"n": 255, "p50": 0.0028, "p90": 0.0031, "p95": 0.0033, "p99": 0.004, "max": 0.009},
     "input_tokens": 128, "output_tokens": 256, "max_tokens": 256}

Times are unix seconds; durations seconds. Keys whose value is unknown are left out: ``ttft``,
``tpot`` and ``itl`` exist for streams only, ``intended`` in an open loop only (then
``latency`` runs from it, the queue included), ``prompt_tokens`` with ``load.tokenizer`` only
(the client's count of the prompt it sent), ``session`` and ``turn`` for the turns of a
multi-turn conversation (``load.turns: all``), ``error`` for failed requests only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: The quantiles of a request's own inter-token gaps that a record keeps (and that a goodput
#: constraint on ``inter_token_latency`` may name), with ``max``.
GAP_QUANTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
GAP_STATISTICS: tuple[str, ...] = (*GAP_QUANTILES, "max")


#: A status's kind (:func:`status_kind`): an answer the service gave, no HTTP answer at all, or
#: a 4xx that is the client's fault.
ANSWERED, UNANSWERED, REJECTED = 0, 1, 2
#: 4xx answers that are the server's failure, not the client's: 424 (TGI: the generation
#: failed) and 429 (the server refused the load it was asked to serve: overloaded)
SERVER_4XX = frozenset({"424", "429"})


def status_kind(status: str) -> int:
    """:data:`ANSWERED`, :data:`UNANSWERED` for no HTTP answer ("0", "error"), or
    :data:`REJECTED` for a 4xx that is the client's fault (not :data:`SERVER_4XX`)."""
    if not status.isdigit() or status == "0":
        return UNANSWERED
    if status.startswith("4") and len(status) == 3 and status not in SERVER_4XX:
        return REJECTED
    return ANSWERED


class RecordError(ValueError):
    """A line of a requests file that is not a request record."""


@dataclass(frozen=True, slots=True)
class Gaps:
    """One request's inter-token gaps, summarised: how many, their quantiles (nearest rank: a
    gap that occurred) and the longest."""

    n: int
    p50: float
    p90: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, gaps: Sequence[float]) -> Gaps | None:
        """The summary of ``gaps`` (seconds); None when there is none (fewer than 2 tokens)."""
        if not gaps:
            return None
        ordered = sorted(gaps)
        n = len(ordered)
        at = {k: ordered[max(0, math.ceil(q * n) - 1)] for k, q in GAP_QUANTILES.items()}
        return cls(n, at["p50"], at["p90"], at["p95"], at["p99"], ordered[-1])

    def statistic(self, name: str) -> float:
        """``p50`` ... ``p99`` or ``max`` (:data:`GAP_STATISTICS`)."""
        if name not in GAP_STATISTICS:
            raise KeyError(name)
        value: float = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the load generator sent and saw end."""

    name: str  #: the request's name (its path for the built-in users)
    sent: float  #: when it was sent (unix seconds)
    end: float  #: when it ended: the whole answer read, or the failure seen
    latency: float  #: seconds, end to end; in an open loop from ``intended``
    status: str  #: the HTTP status, "0" or "error" when there was no answer
    ok: bool  #: answered in full and not failed (a stream that broke is not ok)
    intended: float | None = None  #: open loop: when it should have been sent
    ttft: float | None = None  #: streams: seconds from the send to the first content
    tpot: float | None = None  #: streams of >= 2 tokens: (latency - ttft) / (tokens - 1)
    itl: Gaps | None = None  #: streams of >= 2 content chunks: its gaps
    input_tokens: int | None = None  #: the server's ``usage.prompt_tokens``
    output_tokens: int | None = None  #: ``usage.completion_tokens``, else the chunks counted
    max_tokens: int | None = None  #: what the request asked for
    #: ``load.tokenizer``: the prompt's tokens as the client counted them (what it sent)
    prompt_tokens: int | None = None
    session: str | None = None  #: ``turns: all``: the conversation it is a turn of
    turn: int | None = None  #: its turn in that conversation, from 1
    error: str | None = None  #: why it failed, in words

    @property
    def second(self) -> int:
        """The second it is counted in: the one it ended in, as the client's tables count."""
        return int(self.end)

    def to_json(self) -> dict[str, Any]:
        """Its JSON object, without the keys whose value is unknown."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequestRecord:
        """A record from its JSON object; :class:`RecordError` when it is not one."""
        try:
            gaps = data.get("itl")
            record = cls(
                name=_text(data["name"]),
                sent=_time(data["sent"]),
                end=_time(data["end"]),
                latency=_seconds(data["latency"]),
                status=_text(data["status"]),
                ok=_flag(data["ok"]),
                intended=_optional(_time, data.get("intended")),
                ttft=_optional(_seconds, data.get("ttft")),
                tpot=_optional(_seconds, data.get("tpot")),
                itl=None if gaps is None else _gaps(gaps),
                input_tokens=_optional(_count, data.get("input_tokens")),
                output_tokens=_optional(_count, data.get("output_tokens")),
                max_tokens=_optional(_count, data.get("max_tokens")),
                prompt_tokens=_optional(_count, data.get("prompt_tokens")),
                session=_optional(_text, data.get("session")),
                turn=_optional(_count, data.get("turn")),
                error=_optional(_text, data.get("error")),
            )
        except KeyError as e:
            raise RecordError(f"a request record without {e.args[0]!r}") from None
        except (TypeError, AttributeError):
            raise RecordError("a request record that is not a JSON object of the format") from None
        return record


def _optional(parse: Any, value: Any) -> Any:
    return None if value is None else parse(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(f"expected text, got {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RecordError(f"expected true or false, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RecordError(f"expected a finite number, got {value!r}")
    return float(value)


def _time(value: Any) -> float:
    t = _number(value)
    if t <= 0:
        raise RecordError(f"expected a unix time, got {value!r}")
    return t


def _seconds(value: Any) -> float:
    s = _number(value)
    if s < 0:
        raise RecordError(f"expected seconds >= 0, got {value!r}")
    return s


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"expected a whole number >= 0, got {value!r}")
    return value


def _gaps(value: Any) -> Gaps:
    if not isinstance(value, Mapping):
        raise RecordError(f"expected the gaps' summary, got {value!r}")
    return Gaps(
        n=_count(value["n"]),
        **{k: _seconds(value[k]) for k in GAP_STATISTICS},
    )
