"""A stream that carries an error is a failed request, whatever shape the server gives it
(issue 23): vLLM's and llama.cpp's ``{"error": {...}}``, a flat ``{"object": "error"}``, TGI's
``{"error": "...", "error_type": ...}``, an ``event: error`` SSE event, a stream cut before
``data: [DONE]`` or before a ``finish_reason``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHUNK = b'data: {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": null}]}'
LAST = b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}'
DONE = b"data: [DONE]"
CASES: dict[str, list[bytes]] = {
    "whole": [CHUNK, b"", LAST, b"", DONE],
    "vllm": [CHUNK, b'data: {"error": {"message": "boom", "type": "X", "code": 500}}', DONE],
    "flat": [CHUNK, b'data: {"object": "error", "message": "boom", "code": 500}', DONE],
    "tgi": [CHUNK, b'data: {"error": "overloaded", "error_type": "overloaded"}'],
    "sse": [CHUNK, b"", b"event: error", b'data: {"message": "boom"}', b"", DONE],
    "no_done": [CHUNK, LAST],
    "no_finish": [CHUNK, b"", DONE],
    "no_content": [LAST, DONE],
}


def _failures() -> dict[str, str | None]:
    """Run inside a child: importing the user imports Locust, which patches with gevent."""
    code = (
        "import json, sys\n"
        "from slocheck.load.locustfiles.openai_user import StreamRead\n"
        "out = {}\n"
        "for name, lines in json.loads(sys.stdin.read()).items():\n"
        "    read = StreamRead(0.0)\n"
        "    for line in lines:\n"
        "        read.feed(line.encode())\n"
        "    out[name] = read.failure()\n"
        "print(json.dumps(out))\n"
    )
    cases = {k: [line.decode() for line in v] for k, v in CASES.items()}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, str | None] = json.loads(out.stdout)
    return result


@pytest.fixture(scope="module")
def failures() -> dict[str, str | None]:
    return _failures()


def test_a_whole_stream_is_no_failure(failures: dict[str, str | None]) -> None:
    assert failures["whole"] is None


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("vllm", "error event: boom"),
        ("flat", "error event: boom"),
        ("tgi", "error event: overloaded"),
        ("sse", "error event:"),
        ("no_done", "without data: [DONE]"),
        ("no_finish", "without a finish_reason"),
        ("no_content", "no content"),
    ],
)
def test_every_shape_of_a_failed_stream_fails(
    failures: dict[str, str | None], case: str, why: str
) -> None:
    got = failures[case]
    assert got is not None and why in got, got
