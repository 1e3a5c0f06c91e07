"""Datasets as the serving benchmarks read them: OpenAI chat lines, ShareGPT conversations and
plain prompts, one request a line or every turn of a line as a session; a bad line is refused
naming it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from slocheck.load.locustfiles.datasets import (
    Conversation,
    Picker,
    Session,
    parse_conversation,
    read_dataset,
)

SHAREGPT = {
    "id": "c1",
    "conversations": [
        {"from": "system", "value": "be brief"},
        {"from": "human", "value": "what is a fox"},
        {"from": "gpt", "value": "a small wild dog"},
        {"from": "human", "value": "and a hare"},
        {"from": "gpt", "value": "a fast rabbit"},
    ],
}
OPENAI = {
    "messages": [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1 a1"},
        {"role": "user", "content": "q2"},
    ],
    "max_tokens": 9,
}


def test_sharegpt_sends_its_first_question_or_every_turn() -> None:
    c = parse_conversation(json.dumps(SHAREGPT), 1)
    assert c.id == "c1"
    system, first = (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is a fox"},
    )
    assert c.single.messages == (system, first) and c.single.max_tokens == 4  # "a small wild dog"
    assert [t.max_tokens for t in c.turns] == [4, 3]
    assert c.turns[1].messages == ({"role": "user", "content": "and a hare"},)


def test_an_openai_line_is_sent_whole_or_played_turn_by_turn() -> None:
    c = parse_conversation(json.dumps(OPENAI), 7)
    assert c.id == "7"
    assert len(c.single.messages) == 3 and c.single.max_tokens == 9  # no answer after q2
    assert [t.max_tokens for t in c.turns] == [2, 9]


def test_a_session_keeps_the_history_with_the_server_s_answers() -> None:
    s = Session(parse_conversation(json.dumps(SHAREGPT), 1), "p-1")
    one = s.next_turn()
    assert [m["content"] for m in one.messages] == ["be brief", "what is a fox"]
    s.answered("a fox is a canid")
    two = s.next_turn()
    assert [m["content"] for m in two.messages] == [
        "be brief",
        "what is a fox",
        "a fox is a canid",  # the server's answer, not the recorded one
        "and a hare",
    ]
    assert two.max_tokens == 3 and s.over and s.played == 2


def test_lines_in_order_or_drawn_reproducibly() -> None:
    lines = [parse_conversation(json.dumps({"prompt": f"p{i}"}), i) for i in range(1, 5)]
    in_order = Picker(lines, "sequential", random.Random(0))
    assert [in_order.next().id for _ in range(6)] == ["1", "2", "3", "4", "1", "2"]

    def drawn() -> list[str]:
        picker = Picker(lines, "random", random.Random(3))
        return [picker.next().id for _ in range(20)]

    assert drawn() == drawn() and len(set(drawn())) > 1


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "line 3 is not JSON"),
        ("[1]", "expected a JSON object"),
        ('{"conversations": [{"from": "gpt", "value": "hi"}]}', "no user message"),
        ('{"messages": [{"role": "robot", "content": "x"}]}', "unknown role 'robot'"),
        ('{"prompt": "x", "max_tokens": 0}', "max_tokens must be a whole number"),
        ('{"text": "x"}', 'expected "messages"'),
    ],
)
def test_a_bad_line_is_refused_naming_it(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_conversation(line, 3)


def test_a_file_of_conversations(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(SHAREGPT) + "\n\n" + json.dumps(OPENAI) + "\n")
    found = read_dataset(path)
    assert [type(c) for c in found] == [Conversation, Conversation] and len(found) == 2
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="holds no conversation"):
        read_dataset(tmp_path / "empty.jsonl")


@pytest.mark.parametrize(
    ("load", "field", "says"),
    [
        ("{turns: all}", "load.turns", "only means something with load.prompts"),
        ("{prompts: d.jsonl, think_time: 1s}", "load.think_time", "turns: all"),
        ("{prompts: d.jsonl, turns: many}", "load.turns", "'one' or 'all'"),
        ("{prompts: d.jsonl, sample: shuffled}", "load.sample", "'sequential' or 'random'"),
    ],
)
def test_how_a_dataset_is_played_is_checked_in_the_spec(load: str, field: str, says: str) -> None:
    from slocheck.errors import SpecError
    from slocheck.slofile import parse_spec

    text = (
        "version: 1\ntarget: {api: openai}\n"
        f"load: {load}\n"
        "slos:\n  - {name: a, sli: availability, objective: 99%}\n"
    )
    with pytest.raises(SpecError, match=says) as e:
        parse_spec(text, "slos.yaml")
    assert field in str(e.value)


def test_a_dataset_played_as_sessions_reaches_locust() -> None:
    from slocheck.load.config import LoadConfig

    env = LoadConfig(
        host="http://x", api="openai", prompts=Path("d.jsonl"), turns="all", think_time=0.5
    ).api_env()
    assert (env["SLOCHECK_TURNS"], env["SLOCHECK_THINK_TIME"], env["SLOCHECK_SAMPLE"]) == (
        "all",
        "0.5",
        "sequential",
    )
