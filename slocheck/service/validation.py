"""Validation of request bodies: pure functions, each error naming the offending field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from slocheck.service.models import MAX_IMAGE_SIDE, FloatArray

MAX_PROMPT_CHARS = 8192
MAX_TOKENS_LIMIT = 512


class RequestError(Exception):
    """A request the service refuses: ``status`` is 413 or 422, ``field`` names what is wrong."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message

    def body(self) -> dict[str, Any]:
        kind = "payload_too_large" if self.status == 413 else "validation_error"
        return {"error": {"type": kind, "field": self.field, "message": self.message}}


#: A ``\\uXXXX`` escape of a UTF-16 surrogate: the only way one reaches a decoded body (the
#: bytes are decoded strictly, so an encoded surrogate is invalid UTF-8 and refused as such).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(raw: bytes) -> Any:
    """The body as JSON: UTF-8 (or UTF-16/32, as RFC 8259 detection finds), every string valid
    Unicode text (no unpaired surrogate: it could not be encoded again, in a token or an
    answer), nesting as deep as the parser allows. Anything else is a 422 naming the field."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as e:
        raise RequestError(422, "body", f"not valid {e.encoding} text: {str(e)[:200]}") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise RequestError(422, "body", f"expected a JSON object: {str(e)[:200]}") from None
    except RecursionError:
        raise RequestError(422, "body", "JSON nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk the whole body
        field = _surrogate_at(data, "")
        if field is not None:
            raise RequestError(
                422,
                (field or "body")[:200],
                "contains an unpaired UTF-16 surrogate (a \\ud800-\\udfff escape without its "
                "pair): not valid Unicode text",
            )
    return data


def _surrogate_at(value: Any, path: str) -> str | None:
    """The path (``messages[0].content``) of the first string, or key, holding a lone surrogate."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        v, where = stack.pop()
        if isinstance(v, str):
            if _SURROGATE.search(v):
                return where
        elif isinstance(v, list):
            stack.extend((item, f"{where}[{i}]") for i, item in reversed(list(enumerate(v))))
        elif isinstance(v, dict):
            for key, item in reversed(list(v.items())):
                name = key if key.isidentifier() else json.dumps(key)
                if _SURROGATE.search(key):
                    return f"{where}.{name}" if where else name
                stack.append((item, f"{where}.{name}" if where else name))
    return None


def _object(data: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RequestError(422, "body", f"expected a JSON object, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            name = json.dumps(key) if not key.isidentifier() else key  # "" or "a b" stay visible
            raise RequestError(422, name[:64], f"unknown field; expected one of {sorted(allowed)}")
    return data


_CLASSIFY_FIELDS = frozenset({"pixels"})
_GENERATE_FIELDS = frozenset({"prompt", "max_tokens", "stream"})


def validate_classify(data: Any) -> FloatArray:
    """``{"pixels": [[...], ...]}``: an H x W array (H, W <= 256) of numbers in [0, 1]."""
    body = _object(data, _CLASSIFY_FIELDS)
    if "pixels" not in body:
        raise RequestError(422, "pixels", "field required: an H x W array of numbers in [0, 1]")
    pixels = body["pixels"]
    height, width = _rectangle(pixels)
    try:
        arr = np.array(pixels)
    except (ValueError, TypeError):
        arr = np.array([], dtype=object)
    if arr.dtype.kind not in "iuf" or arr.shape != (height, width):
        _first_non_number(pixels)
        raise RequestError(422, "pixels", "expected an H x W array of numbers")
    _no_booleans(pixels)  # numpy reads true as 1: [[true, 0.1]] is not an image
    bad = ~(np.isfinite(arr) & (arr >= 0) & (arr <= 1))  # before float32: 1e300 overflows it
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise RequestError(
            422, f"pixels[{i}][{j}]", f"expected a number in [0, 1], got {pixels[i][j]!r:.40}"
        )
    image: FloatArray = arr.astype(np.float32)
    return image


def _rectangle(pixels: Any) -> tuple[int, int]:
    """(height, width) of a non-empty list of equally long non-empty rows, at most
    ``MAX_IMAGE_SIDE`` each way; else the first thing wrong, named."""
    if not isinstance(pixels, list) or not pixels:
        raise RequestError(422, "pixels", "expected a non-empty list of rows")
    for i, row in enumerate(pixels):
        if not isinstance(row, list):
            raise RequestError(
                422, f"pixels[{i}]", f"expected a list of numbers, got {type(row).__name__}"
            )
    height, width = len(pixels), len(pixels[0])
    if height > MAX_IMAGE_SIDE or width > MAX_IMAGE_SIDE:
        raise RequestError(
            422,
            "pixels",
            f"image is {height} x {width}; at most {MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} is accepted",
        )
    if width == 0:
        raise RequestError(422, "pixels[0]", "expected a non-empty row")
    for i, row in enumerate(pixels):
        if len(row) != width:
            raise RequestError(
                422,
                f"pixels[{i}]",
                f"row has {len(row)} values, row 0 has {width}: rows must be of equal length",
            )
    return height, width


def _first_non_number(pixels: list[list[Any]]) -> None:
    """Name the first value numpy could not take as a number in [0, 1]."""
    for i, row in enumerate(pixels):
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise RequestError(422, f"pixels[{i}][{j}]", f"expected a number, got {v!r:.40}")
            if not 0 <= v <= 1:  # an int too large for numpy
                raise RequestError(
                    422, f"pixels[{i}][{j}]", f"expected a number in [0, 1], got {v!r:.40}"
                )


def _no_booleans(pixels: list[list[Any]]) -> None:
    for i, row in enumerate(pixels):
        for j, v in enumerate(row):
            if v is True or v is False:
                raise RequestError(422, f"pixels[{i}][{j}]", f"expected a number, got {v!r}")


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    max_tokens: int = 32
    stream: bool = False


def validate_generate(data: Any) -> GenerateRequest:
    """``{"prompt": "...", "max_tokens": 32, "stream": true}``."""
    body = _object(data, _GENERATE_FIELDS)
    if "prompt" not in body:
        raise RequestError(422, "prompt", "field required: a string")
    prompt = body["prompt"]
    if not isinstance(prompt, str):
        raise RequestError(422, "prompt", f"expected a string, got {type(prompt).__name__}")
    if not prompt.strip():
        raise RequestError(422, "prompt", "expected a non-empty string")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise RequestError(422, "prompt", f"{len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    max_tokens = body.get("max_tokens", 32)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise RequestError(422, "max_tokens", f"expected a whole number, got {max_tokens!r:.40}")
    if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise RequestError(422, "max_tokens", f"expected 1 to {MAX_TOKENS_LIMIT}, got {max_tokens}")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError(422, "stream", f"expected true or false, got {stream!r:.40}")
    return GenerateRequest(prompt, max_tokens, stream)


# -- the OpenAI-compatible API -----------------------------------------------------------------
#: Fields OpenAI clients commonly send that this model accepts and ignores (sampling settings).
_OPENAI_IGNORED = frozenset(
    {
        "temperature",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "logit_bias",
        "ignore_eos",
    }
)
_OPENAI_COMMON = frozenset(
    {"model", "max_tokens", "max_completion_tokens", "stream", "stream_options", "n"}
)
_CHAT_FIELDS = _OPENAI_COMMON | _OPENAI_IGNORED | {"messages"}
_COMPLETION_FIELDS = _OPENAI_COMMON | _OPENAI_IGNORED | {"prompt"}
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
OPENAI_DEFAULT_MAX_TOKENS = 16


@dataclass(frozen=True)
class OpenAIRequest:
    prompt: str  # the text the model reads (chat: every message's text, one per line)
    model: str | None = None
    max_tokens: int = OPENAI_DEFAULT_MAX_TOKENS
    stream: bool = False
    include_usage: bool = False


def openai_error(e: RequestError) -> dict[str, Any]:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = "invalid_request_error" if e.status != 413 else "payload_too_large"
    return {"error": {"message": e.message, "type": kind, "param": e.field, "code": None}}


def _bad(field: str, message: str) -> RequestError:
    return RequestError(400, field, message)


def _text_of(content: Any, field: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        texts = []
        for i, part in enumerate(content):
            if not (isinstance(part, dict) and isinstance(part.get("text"), str)):
                raise _bad(f"{field}[{i}]", 'expected a text part {"type": "text", "text": ...}')
            texts.append(part["text"])
        return " ".join(texts)
    raise _bad(field, f"expected a string or a list of text parts, got {type(content).__name__}")


def _openai_common(body: dict[str, Any], prompt: str) -> OpenAIRequest:
    if not prompt.strip():
        raise _bad("prompt", "expected a non-empty prompt")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise _bad("prompt", f"{len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise _bad("model", f"expected a string, got {type(model).__name__}")
    max_tokens = OPENAI_DEFAULT_MAX_TOKENS
    for key in ("max_tokens", "max_completion_tokens"):  # both checked; the newer one wins
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad(key, f"expected a whole number, got {value!r:.40}")
        if not 1 <= value <= MAX_TOKENS_LIMIT:
            raise _bad(key, f"expected 1 to {MAX_TOKENS_LIMIT}, got {value}")
        max_tokens = value
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("stream", f"expected true or false, got {stream!r:.40}")
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, float)) or n != 1):
        raise _bad("n", f"only n = 1 is served, got {n!r:.40}")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _bad("stream_options", f"expected an object, got {type(options).__name__}")
    include_usage = (options or {}).get("include_usage", False)
    if include_usage is None:
        include_usage = False
    if not isinstance(include_usage, bool):
        raise _bad(
            "stream_options.include_usage", f"expected true or false, got {include_usage!r:.40}"
        )
    return OpenAIRequest(prompt, model, max_tokens, stream, include_usage)


def _openai_object(data: Any, allowed: frozenset[str]) -> dict[str, Any]:
    try:
        return _object(data, allowed)
    except RequestError as e:
        raise _bad(e.field, e.message) from None


def validate_chat(data: Any) -> OpenAIRequest:
    """An OpenAI chat completion request: ``messages`` (role and text content) and options."""
    body = _openai_object(data, _CHAT_FIELDS)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages", "field required: a non-empty list of messages")
    texts = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise _bad(f"messages[{i}]", f"expected an object, got {type(m).__name__}")
        role = m.get("role")
        if not isinstance(role, str) or role not in _ROLES:  # a list or dict is unhashable
            raise _bad(f"messages[{i}].role", f"expected one of {sorted(_ROLES)}, got {role!r:.40}")
        texts.append(_text_of(m.get("content"), f"messages[{i}].content"))
    return _openai_common(body, "\n".join(texts))


def validate_completion(data: Any) -> OpenAIRequest:
    """An OpenAI (legacy) completion request: ``prompt`` (a string) and options."""
    body = _openai_object(data, _COMPLETION_FIELDS)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise _bad("prompt", "field required: a string")
    return _openai_common(body, prompt)
