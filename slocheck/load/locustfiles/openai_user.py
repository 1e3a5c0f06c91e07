"""The OpenAI-compatible API (vLLM, TGI, llama.cpp's llama-server, the reference service ...).

``POST /v1/chat/completions`` (or ``/v1/completions``), streamed by default. The request's name
is its path, so that client counts line up with the server's route label. Recorded per request:

* the request itself, END TO END: its latency runs until the stream has finished, not until
  the response headers came (Locust's own figure for ``stream=True``);
* ``ttft`` (request sent to first chunk carrying content), ``itl`` (each gap between two
  content chunks) and ``tpot`` (time per output token after the first: (e2e - ttft) /
  (tokens - 1), for streams of >= 2 tokens; decode tokens/s is 1 / tpot), as metrics;
* ``output_tokens`` and ``input_tokens`` per second, as counts, for successful requests only:
  from the server's ``usage`` when it sends one (``stream_options.include_usage``), else the
  content chunks (streams) or words of the answer (non-streamed, an estimate).

A stream is FAILED when its status is not 200, when it carries an error in any shape servers
send one (``{"error": {...}}`` as vLLM, llama.cpp and the OpenAI API do, a flat ``{"object":
"error", "message": ...}``, TGI's ``{"error": "...", "error_type": ...}``, or an ``event:
error`` SSE event), when it breaks or ends before ``data: [DONE]`` or before a choice's
``finish_reason``, or carries no content. Such a request is recorded with its status (200) and
counted failed: the server's HTTP counter, which fixed the status when the response started,
says it succeeded.

Settings (set by ``slocheck run``): ``SLOCHECK_MODEL``, ``SLOCHECK_OPENAI_ENDPOINT`` (chat or
completions), ``SLOCHECK_STREAM``, ``SLOCHECK_PROMPTS`` (a JSONL file), ``SLOCHECK_TRACE`` (a
trace whose lengths each request takes, ``common.py``), ``SLOCHECK_INPUT_TOKENS`` and
``SLOCHECK_OUTPUT_TOKENS`` (``mean,stddev``), ``SLOCHECK_SEED``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import zlib
from pathlib import Path
from typing import Any

import gevent
from locust import task

from slocheck.load.locustfiles.bodies import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    WORDS,
    Lengths,
    prefixes,
    synthetic_prompt,
    with_prefix,
)
from slocheck.load.locustfiles.common import Paced, count_cut, stream_lines
from slocheck.load.locustfiles.datasets import Picker, Session, Turn, read_dataset
from slocheck.load.locustfiles.plugin import (
    Measured,
    measured,
    record_count,
    record_metric,
    with_measured,
)
from slocheck.load.locustfiles.tokenizer import PromptTokenizer
from slocheck.load.locustfiles.traces import TraceRow, prompt_of

MODEL = os.environ.get("SLOCHECK_MODEL", "")
CHAT = os.environ.get("SLOCHECK_OPENAI_ENDPOINT", "chat") == "chat"
PATH = "/v1/chat/completions" if CHAT else "/v1/completions"
STREAM = os.environ.get("SLOCHECK_STREAM", "1") not in ("0", "false", "")
INPUT_TOKENS = Lengths.decode(os.environ.get("SLOCHECK_INPUT_TOKENS", ""), DEFAULT_INPUT_TOKENS)
OUTPUT_TOKENS = Lengths.decode(os.environ.get("SLOCHECK_OUTPUT_TOKENS", ""), DEFAULT_OUTPUT_TOKENS)
RNG = random.Random(int(os.environ.get("SLOCHECK_SEED", "0") or 0))
DATASET = Picker(
    read_dataset(Path(os.environ["SLOCHECK_PROMPTS"]))
    if os.environ.get("SLOCHECK_PROMPTS")
    else [],
    os.environ.get("SLOCHECK_SAMPLE", "sequential"),
    random.Random(int(os.environ.get("SLOCHECK_SEED", "0") or 0) + 1),
)
_PREFIX = [int(x) for x in os.environ.get("SLOCHECK_PREFIX", "").split(",") if x]
PREFIXES = (
    prefixes(_PREFIX[0], _PREFIX[1], int(os.environ.get("SLOCHECK_SEED", "0") or 0))
    if len(_PREFIX) == 2
    else []
)
TOKENIZER = (
    PromptTokenizer.from_file(Path(os.environ["SLOCHECK_TOKENIZER"]))
    if os.environ.get("SLOCHECK_TOKENIZER")
    else None
)
SESSIONS = os.environ.get("SLOCHECK_TURNS", "one") == "all"
THINK_TIME = float(os.environ.get("SLOCHECK_THINK_TIME", "0") or 0)
_SESSION_IDS = itertools.count(1)


def request_body(turn: Turn, max_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {"max_tokens": max_tokens, "stream": STREAM}
    if MODEL:
        body["model"] = MODEL
    if CHAT:
        body["messages"] = list(turn.messages)
    else:
        body["prompt"] = turn.text
    if STREAM:
        body["stream_options"] = {"include_usage": True}
    return body


def next_turn(session: Session | None, row: TraceRow | None = None) -> Turn:
    """The next request: a trace's request (a synthetic prompt of its input length, its
    output length as ``max_tokens``), the session's next turn, a dataset's next line (round
    robin or drawn), or a synthetic prompt; ``max_tokens`` the recorded answer's, else drawn."""
    if row is not None:
        text = prompt_of(row, RNG)
        if TOKENIZER is not None:  # its words cut to the row's length in the model's tokens
            text = TOKENIZER.fit(text.split(), row.input_tokens)
        return Turn(({"role": "user", "content": text},), row.output_tokens)
    if session is not None:
        turn = session.next_turn()
    elif DATASET.conversations:
        turn = DATASET.next().single
    else:
        length = INPUT_TOKENS.draw(RNG)
        if TOKENIZER is not None:
            text = TOKENIZER.prompt(RNG, length, WORDS)
            turn = Turn(({"role": "user", "content": text},))
        else:
            turn = synthetic_prompt(RNG, length)
    return Turn(turn.messages, turn.max_tokens or OUTPUT_TOKENS.draw(RNG))


def prompt_tokens(body: dict[str, Any]) -> int | None:
    """The client's count of the prompt a request sends (``load.tokenizer``; else None): its
    messages' texts (chat) or its prompt (completions)."""
    if TOKENIZER is None:
        return None
    if "prompt" in body:
        return TOKENIZER.count(str(body["prompt"]))
    return TOKENIZER.count_all([_content_text(m.get("content")) for m in body["messages"]])


def _content_text(content: Any) -> str:
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def content_of(choice: dict[str, Any]) -> str:
    """The text a chunk (or a whole answer) carries, chat or completions."""
    if CHAT:
        part = choice.get("delta") or choice.get("message") or {}
        text = part.get("content") if isinstance(part, dict) else None
    else:
        text = choice.get("text")
    return text if isinstance(text, str) else ""


def _usage(event: dict[str, Any], into: dict[str, int]) -> None:
    usage = event.get("usage")
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "completion_tokens"):
            if isinstance(usage.get(key), int):
                into[key] = usage[key]


def error_of(event: dict[str, Any]) -> str | None:
    """The error a JSON event (or a whole answer) carries, in words; None when it is none:
    ``{"error": {...}}`` or ``{"error": "..."}``, or a flat ``{"object": "error", ...}``."""
    err = event.get("error")
    if err:
        msg = err.get("message", err) if isinstance(err, dict) else err
        return str(msg)[:200]
    if event.get("object") == "error":
        return str(event.get("message") or event)[:200]
    return None


class StreamRead:
    """What one stream carried: content chunk times, usage, how it ended."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.chunks: list[float] = []  # perf_counter of every content chunk
        self.parts: list[str] = []  # the text of every content chunk: the answer
        self.usage: dict[str, int] = {}
        self.done = False
        self.finished = False  # a choice carried a finish_reason
        self.error: str | None = None
        self._event = ""  # the SSE event type of the lines being read ("" is "message")

    def feed(self, line: bytes) -> None:
        if self.done:
            return
        if line.startswith(b"event:"):
            self._event = line[6:].strip().decode("utf-8", "replace")
            return
        if not line:  # an empty line ends an SSE event
            self._event = ""
            return
        if not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if self._event == "error":
            self.error = self.error or f"error event: {data[:200].decode('utf-8', 'replace')}"
            return
        if data == b"[DONE]":
            self.done = True
            return
        try:
            event = json.loads(data)
        except ValueError:
            self.error = self.error or f"a data line that is not JSON: {data[:80]!r}"
            return
        if not isinstance(event, dict):
            return
        if (err := error_of(event)) is not None:
            self.error = self.error or f"error event: {err}"
            return
        _usage(event, self.usage)
        choices = event.get("choices") or []
        if choices and isinstance(choices[0], dict):
            if text := content_of(choices[0]):
                self.chunks.append(time.perf_counter())
                self.parts.append(text)
            if choices[0].get("finish_reason"):
                self.finished = True

    def failure(self) -> str | None:
        """Why the stream failed, once it ended; None when it is a whole answer."""
        if self.error is not None:
            return self.error
        if not self.done:
            return "the stream ended without data: [DONE]"
        if not self.finished:
            return "the stream ended without a finish_reason"
        if not self.chunks:
            return "the stream carried no content"
        return None


class OpenAIUser(Paced):
    #: ``turns: all``: the conversation this user is playing; None between conversations
    session: Session | None = None

    def wait_time(self) -> float:
        """Within a conversation, the think time before its next turn (never the open loop's
        schedule: a session's later turns follow its answers); else the pacing."""
        if self.session is not None and not self.session.over:
            return THINK_TIME
        return super().wait_time()

    def _session(self) -> Session | None:
        if not SESSIONS or not DATASET.conversations:
            return None
        if self.session is None or self.session.over:
            self.session = Session(DATASET.next(), f"{os.getpid()}-{next(_SESSION_IDS)}")
        return self.session

    def _prefix(self, session: Session | None) -> str | None:
        """The shared system prompt of this request: drawn per request, or once per
        conversation (its turns share it, as a real conversation's do)."""
        if not PREFIXES:
            return None
        if session is None:
            return RNG.choice(PREFIXES)
        return PREFIXES[zlib.crc32(session.id.encode()) % len(PREFIXES)]

    @task
    def complete(self) -> None:
        session = self._session()
        row, self.trace_row = self.trace_row, None
        turn = with_prefix(next_turn(session, row), self._prefix(session))
        assert turn.max_tokens is not None
        body = request_body(turn, turn.max_tokens)
        started = time.perf_counter()
        # a stream gets a connection of its own: llama.cpp's server closes the connection after
        # every stream although it answered keep-alive, and a next request sent on it meanwhile
        # got no answer at all ("connection closed"), a failure of the client, not the server
        headers = {"Connection": "close"} if STREAM else None
        # what the request's record gets besides its latency: filled in as it is read
        context = with_measured(
            None,
            Measured(
                max_tokens=turn.max_tokens,
                prompt_tokens=prompt_tokens(body),
                session=session.id if session else (row.session if row else None),
                turn=session.played if session else None,
            ),
        )
        with self.client.post(
            PATH,
            json=body,
            headers=headers,
            stream=STREAM,
            catch_response=True,
            name=PATH,
            context=context,
        ) as r:
            try:
                answer = self._stream(r, started) if STREAM else self._whole(r)
            except gevent.GreenletExit:  # the end of the run killed it mid-stream
                count_cut()
                raise
        if session is not None:
            if answer is None:
                self.session = None  # a failed turn: the user gives up the conversation
            else:
                session.answered(answer)

    def _stream(self, r: Any, started: float) -> str | None:
        """Read a streamed answer; its text, or None when the request failed."""
        if r.status_code != 200:
            r.failure(f"status {r.status_code}" if r.status_code else f"no answer: {r.error}")
            return None
        read = StreamRead(started)
        try:
            for line in stream_lines(r):
                read.feed(line)
        except Exception as e:  # connection reset mid-stream: the request failed
            read.error = read.error or f"the stream broke: {type(e).__name__}: {e}"
        ended = time.perf_counter()
        r.request_meta["response_time"] = (ended - started) * 1000  # end to end
        if (why := read.failure()) is not None:
            r.failure(why)
            return None
        ttft = read.chunks[0] - started
        record_metric("ttft", ttft)
        gaps = [after - before for before, after in zip(read.chunks, read.chunks[1:], strict=False)]
        for gap in gaps:
            record_metric("itl", gap)
        tokens = read.usage.get("completion_tokens", len(read.chunks))
        tpot = (ended - started - ttft) / (tokens - 1) if tokens >= 2 else None
        if tpot is not None:
            record_metric("tpot", tpot)
        self._count(tokens, read.usage)
        m = measured(r.request_meta.get("context"))
        m.ttft, m.tpot, m.gaps = ttft, tpot, gaps
        m.output_tokens, m.input_tokens = tokens, read.usage.get("prompt_tokens")
        return "".join(read.parts)

    def _whole(self, r: Any) -> str | None:
        """Read a whole answer; its text, or None when the request failed."""
        if r.status_code != 200:
            r.failure(f"status {r.status_code}" if r.status_code else f"no answer: {r.error}")
            return None
        try:
            answer = json.loads(r.content)
            if isinstance(answer, dict) and (err := error_of(answer)) is not None:
                r.failure(f"error answer: {err}")
                return None
            text = content_of(answer["choices"][0])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            r.failure("the answer is not an OpenAI completion object")
            return None
        usage: dict[str, int] = {}
        _usage(answer, usage)
        tokens = usage.get("completion_tokens", len(text.split()))
        self._count(tokens, usage)
        m = measured(r.request_meta.get("context"))
        m.output_tokens, m.input_tokens = tokens, usage.get("prompt_tokens")
        return text

    @staticmethod
    def _count(output_tokens: int, usage: dict[str, int]) -> None:
        record_count("output_tokens", output_tokens)
        if "prompt_tokens" in usage:
            record_count("input_tokens", usage["prompt_tokens"])
