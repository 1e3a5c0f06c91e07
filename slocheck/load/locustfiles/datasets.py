"""LLM datasets as the serving benchmarks read them (``load.dataset``): one conversation a JSONL
line, in any of the formats people already have:

* OpenAI chat: ``{"messages": [{"role": "system", ...}, {"role": "user", ...},
  {"role": "assistant", ...}, {"role": "user", ...}]}``: a turn per user message, the assistant
  message after it its recorded answer;
* ShareGPT: ``{"id": ..., "conversations": [{"from": "human", "value": ...},
  {"from": "gpt", "value": ...}, ...]}`` (``human``/``user``, ``gpt``/``assistant``/
  ``chatgpt``, ``system``);
* a plain prompt: ``{"prompt": "..."}``, one turn, optionally with ``max_tokens``.

``turns: one`` (the default) sends each line as one request, as the single-turn benchmarks do:
an OpenAI line whole (its messages up to its last user message, the answers recorded between
them included), a ShareGPT line's first question; ``turns: all`` plays every turn of a line as
a session (:attr:`Conversation.turns`), the history growing with the server's own answers.
A turn's ``max_tokens`` is its recorded answer's length where the line has one (in words: one
word is about one token without a tokenizer), else the line's ``max_tokens``, else the load's
``output_tokens``. Pure (standard library only): ``slocheck run`` reads the file with this same
code before Locust starts, so a bad line is a spec error naming the line, never a failed load.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER_ROLES = frozenset({"user", "human"})
ASSISTANT_ROLES = frozenset({"assistant", "gpt", "chatgpt", "bard", "model"})
SYSTEM_ROLES = frozenset({"system"})


@dataclass(frozen=True)
class Turn:
    """One request of a conversation: the messages the user adds before it (a system prompt,
    its question) and how many tokens it asks for."""

    messages: tuple[dict[str, Any], ...]
    max_tokens: int | None = None

    @property
    def text(self) -> str:
        """The messages as one prompt (``/v1/completions``)."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass(frozen=True)
class Conversation:
    """One line of a dataset: its turns, in order, and its id (the line's ``id``, else its
    line number)."""

    id: str
    turns: tuple[Turn, ...]
    #: the line as one request (``turns: one``)
    single: Turn


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "..."}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def answer_tokens(text: str) -> int | None:
    """A recorded answer's length in tokens, counted as words; None for an empty one."""
    words = len(text.split())
    return words or None


def _role(role: str, number: int) -> str:
    if role in SYSTEM_ROLES:
        return "system"
    if role in USER_ROLES:
        return "user"
    if role in ASSISTANT_ROLES:
        return "assistant"
    raise ValueError(f"line {number}: unknown role {role!r}")


def _turns(messages: list[dict[str, str]]) -> tuple[Turn, ...]:
    """A turn per user message, with the system messages before it; the assistant message
    after it gives that turn's answer length (the answer itself is the server's, in a
    session)."""
    turns: list[Turn] = []
    pending: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "assistant":
            if turns and turns[-1].max_tokens is None and not pending:
                turns[-1] = Turn(turns[-1].messages, answer_tokens(m["content"]))
            continue
        pending.append(m)
        if m["role"] == "user":
            turns.append(Turn(tuple(pending)))
            pending = []
    return tuple(turns)


def _whole(messages: list[dict[str, str]]) -> Turn:
    """The messages up to the last user message as one request; the answer after it, if
    recorded, gives its length."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "user")
    after = messages[last + 1] if last + 1 < len(messages) else None
    answer = answer_tokens(after["content"]) if after and after["role"] == "assistant" else None
    return Turn(tuple(messages[: last + 1]), answer)


def _conversation(
    ident: str, messages: list[dict[str, str]], number: int, whole: bool
) -> Conversation:
    if not any(m["role"] == "user" for m in messages):
        raise ValueError(f"line {number}: no user message: nothing to send")
    turns = _turns(messages)
    return Conversation(ident, turns, _whole(messages) if whole else turns[0])


def _max_tokens(data: dict[str, Any], number: int) -> int | None:
    value = data.get("max_tokens")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"line {number}: max_tokens must be a whole number >= 1")
    return value


def parse_conversation(line: str, number: int) -> Conversation:
    """One line of a dataset, in any of the formats above."""
    try:
        data = json.loads(line)
    except ValueError:
        raise ValueError(f"line {number} is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"line {number}: expected a JSON object, got {type(data).__name__}")
    ident = str(data.get("id", number))
    limit = _max_tokens(data, number)
    for key, role_key, text_key, whole in (
        ("conversations", "from", "value", False),  # ShareGPT: its first question
        ("messages", "role", "content", True),  # OpenAI: the line whole
    ):
        if isinstance(data.get(key), list):
            messages = [
                {
                    "role": _role(str(m.get(role_key, "")).lower(), number),
                    "content": _text(m.get(text_key, m.get("content"))),
                }
                for m in data[key]
                if isinstance(m, dict)
            ]
            return _with_limit(_conversation(ident, messages, number, whole), limit)
    if isinstance(data.get("prompt"), str) and data["prompt"].strip():
        turn = Turn(({"role": "user", "content": data["prompt"]},), limit)
        return Conversation(ident, (turn,), turn)
    raise ValueError(
        f'line {number}: expected "messages" (OpenAI chat), "conversations" (ShareGPT) or '
        '"prompt" (a non-empty string)'
    )


def _with_limit(c: Conversation, limit: int | None) -> Conversation:
    """The line's own ``max_tokens`` for the turns with no recorded answer."""
    if limit is None:
        return c

    def limited(t: Turn) -> Turn:
        return t if t.max_tokens is not None else Turn(t.messages, limit)

    return Conversation(c.id, tuple(limited(t) for t in c.turns), limited(c.single))


def read_text_file(path: Path, encoding: str = "utf-8") -> str:
    """The text of a file the spec names (a dataset, a payload, a trace); ValueError saying
    why when there is none to read."""
    if not path.is_file():
        raise ValueError(f"{str(path)!r} does not exist or is not a file")
    try:
        return path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot be read: {e}") from None


def read_dataset(path: Path) -> list[Conversation]:
    """Every conversation of a JSONL file; empty lines are skipped, any other bad line is an
    error that names it."""
    text = read_text_file(path)
    found = [
        parse_conversation(line, n)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not found:
        raise ValueError("holds no conversation")
    return found


class Picker:
    """The next conversation for a user: in file order (round robin over the users of a
    process) or drawn at random (seeded: the same run draws the same lines)."""

    def __init__(self, conversations: list[Conversation], sample: str, rng: random.Random):
        self.conversations = conversations
        self.sample = sample
        self.rng = rng
        self._next = itertools.count()

    def next(self) -> Conversation:
        if self.sample == "random":
            return self.rng.choice(self.conversations)
        return self.conversations[next(self._next) % len(self.conversations)]


@dataclass
class Session:
    """One user playing one conversation (``turns: all``): each turn adds its messages to the
    history it sends, and the server's answer after it; a failed turn ends the session (the
    user gives up the conversation)."""

    conversation: Conversation
    id: str
    played: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def over(self) -> bool:
        return self.played >= len(self.conversation.turns)

    def next_turn(self) -> Turn:
        """The next turn, with the whole history as its messages."""
        turn = self.conversation.turns[self.played]
        self.played += 1
        self.history.extend(turn.messages)
        return Turn(tuple(self.history), turn.max_tokens)

    def answered(self, text: str) -> None:
        self.history.append({"role": "assistant", "content": text})
