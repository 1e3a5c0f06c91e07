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

A stream is FAILED when its status is not 200, when it carries an error event (a JSON object
with ``"error"``), when it breaks or ends without ``data: [DONE]``, or carries no content.

Settings (set by ``slocheck run``): ``SLOCHECK_MODEL``, ``SLOCHECK_OPENAI_ENDPOINT`` (chat or
completions), ``SLOCHECK_STREAM``, ``SLOCHECK_PROMPTS`` (a JSONL file), ``SLOCHECK_INPUT_TOKENS``
and ``SLOCHECK_OUTPUT_TOKENS`` (``mean,stddev``), ``SLOCHECK_SEED``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import task

from slocheck.load.locustfiles.bodies import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    Prompt,
    decode_tokens,
    draw,
    read_prompts,
    synthetic_prompt,
)
from slocheck.load.locustfiles.common import Paced, stream_lines
from slocheck.load.locustfiles.plugin import record_count, record_metric

MODEL = os.environ.get("SLOCHECK_MODEL", "")
CHAT = os.environ.get("SLOCHECK_OPENAI_ENDPOINT", "chat") == "chat"
PATH = "/v1/chat/completions" if CHAT else "/v1/completions"
STREAM = os.environ.get("SLOCHECK_STREAM", "1") not in ("0", "false", "")
PROMPTS: list[Prompt] = (
    read_prompts(Path(os.environ["SLOCHECK_PROMPTS"])) if os.environ.get("SLOCHECK_PROMPTS") else []
)
INPUT_TOKENS = decode_tokens(os.environ.get("SLOCHECK_INPUT_TOKENS", ""), DEFAULT_INPUT_TOKENS)
OUTPUT_TOKENS = decode_tokens(os.environ.get("SLOCHECK_OUTPUT_TOKENS", ""), DEFAULT_OUTPUT_TOKENS)
RNG = random.Random(int(os.environ.get("SLOCHECK_SEED", "0") or 0))
_TURN = itertools.count()  # shared by the users of this process: prompts go round robin


def request_body(prompt: Prompt, max_tokens: int) -> dict[str, Any]:
    body: dict[str, Any] = {"max_tokens": max_tokens, "stream": STREAM}
    if MODEL:
        body["model"] = MODEL
    if CHAT:
        body["messages"] = prompt.messages
    else:
        body["prompt"] = prompt.text
    if STREAM:
        body["stream_options"] = {"include_usage": True}
    return body


def next_body() -> dict[str, Any]:
    """The next request: prompts in turn (or a synthetic one), ``max_tokens`` drawn."""
    if PROMPTS:
        prompt = PROMPTS[next(_TURN) % len(PROMPTS)]
    else:
        prompt = synthetic_prompt(RNG, draw(RNG, INPUT_TOKENS))
    return request_body(prompt, prompt.max_tokens or draw(RNG, OUTPUT_TOKENS))


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


class StreamRead:
    """What one stream carried: content chunk times, usage, how it ended."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.chunks: list[float] = []  # perf_counter of every content chunk
        self.usage: dict[str, int] = {}
        self.done = False
        self.error: str | None = None

    def feed(self, line: bytes) -> None:
        if not line.startswith(b"data:") or self.done:
            return
        data = line[5:].strip()
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
        if event.get("error"):
            err = event["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            self.error = self.error or f"error event: {str(msg)[:200]}"
            return
        _usage(event, self.usage)
        choices = event.get("choices") or []
        if choices and isinstance(choices[0], dict) and content_of(choices[0]):
            self.chunks.append(time.perf_counter())


class OpenAIUser(Paced):
    @task
    def complete(self) -> None:
        body = next_body()
        started = time.perf_counter()
        # a stream gets a connection of its own: llama.cpp's server closes the connection after
        # every stream although it answered keep-alive, and a next request sent on it meanwhile
        # got no answer at all ("connection closed"), a failure of the client, not the server
        headers = {"Connection": "close"} if STREAM else None
        with self.client.post(
            PATH, json=body, headers=headers, stream=STREAM, catch_response=True, name=PATH
        ) as r:
            if STREAM:
                self._stream(r, started)
            else:
                self._whole(r)

    def _stream(self, r: Any, started: float) -> None:
        if r.status_code != 200:
            r.failure(f"status {r.status_code}" if r.status_code else f"no answer: {r.error}")
            return
        read = StreamRead(started)
        try:
            for line in stream_lines(r):
                read.feed(line)
        except Exception as e:  # connection reset mid-stream: the request failed
            read.error = read.error or f"the stream broke: {type(e).__name__}: {e}"
        ended = time.perf_counter()
        r.request_meta["response_time"] = (ended - started) * 1000  # end to end
        if read.error is None and not read.done:
            read.error = "the stream ended without data: [DONE]"
        if read.error is None and not read.chunks:
            read.error = "the stream carried no content"
        if read.error is not None:
            r.failure(read.error)
            return
        ttft = read.chunks[0] - started
        record_metric("ttft", ttft)
        for before, after in zip(read.chunks, read.chunks[1:], strict=False):
            record_metric("itl", after - before)
        tokens = read.usage.get("completion_tokens", len(read.chunks))
        if tokens >= 2:
            record_metric("tpot", (ended - started - ttft) / (tokens - 1))
        self._count(tokens, read.usage)

    def _whole(self, r: Any) -> None:
        if r.status_code != 200:
            r.failure(f"status {r.status_code}" if r.status_code else f"no answer: {r.error}")
            return
        try:
            answer = json.loads(r.content)
            text = content_of(answer["choices"][0])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            r.failure("the answer is not an OpenAI completion object")
            return
        usage: dict[str, int] = {}
        _usage(answer, usage)
        self._count(usage.get("completion_tokens", len(text.split())), usage)

    @staticmethod
    def _count(output_tokens: int, usage: dict[str, int]) -> None:
        record_count("output_tokens", output_tokens)
        if "prompt_tokens" in usage:
            record_count("input_tokens", usage["prompt_tokens"])
