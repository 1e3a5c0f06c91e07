"""``load.tokenizer`` (``locustfiles/tokenizer.py``): prompts cut to exact lengths in the
model's tokens and counted, and the ``prompt_tokens`` cross-check that holds the server's count
to the client's (``evaluate/tokens.py``). The tokenizers are built here with the tokenizers
library: one that splits words (as the reference service counts) and one that splits
characters (a tokenizer that is not the model's)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("tokenizers", reason="the tokenizers extra: pip install -e '.[dev]'")

from tokenizers import Regex, Tokenizer, models, pre_tokenizers

from slocheck.evaluate.tokens import prompt_lengths_agree, prompt_within
from slocheck.load.locustfiles.bodies import WORDS
from slocheck.load.locustfiles.tokenizer import PromptTokenizer
from slocheck.request_record import RequestRecord


def word_tokenizer(path: Path) -> Path:
    """Whole words, as the reference service counts a prompt (``service/models.tokenize``)."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *WORDS])}, "[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return path


def char_tokenizer(path: Path) -> Path:
    """Every character a token (a space too, unknown): not the model's tokenizer."""
    letters = sorted({c for w in WORDS for c in w})
    tok = Tokenizer(models.WordLevel({c: i for i, c in enumerate(["[UNK]", *letters])}, "[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"\S"), "isolated")
    tok.save(str(path))
    return path


def test_prompts_are_cut_to_the_tokenizers_exact_length(tmp_path: Path) -> None:
    words = PromptTokenizer.from_file(word_tokenizer(tmp_path / "words.json"))
    chars = PromptTokenizer.from_file(char_tokenizer(tmp_path / "chars.json"))
    rng = random.Random(3)
    for n in (1, 7, 64, 300):
        assert words.count(words.prompt(rng, n, WORDS)) == n  # one word, one token
    for n in (10, 64, 300):
        text = chars.prompt(rng, n, WORDS)
        assert n - max(len(w) + 1 for w in WORDS) < chars.count(text) <= n  # whole words only
    assert len(chars.prompt(rng, 1, WORDS).split()) == 1  # never an empty prompt
    assert chars.count("the fox") == 7 and words.count("the fox") == 2  # chars: the space too
    assert words.fit(["the", "quick", "brown"], 2) == "the quick"


def test_a_tokenizer_that_cannot_be_loaded_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match=r"is not a tokenizer\.json the tokenizers library reads"):
        PromptTokenizer.from_file(bad)
    with pytest.raises(ValueError, match="does not exist"):
        PromptTokenizer.from_file(tmp_path / "missing.json")


def rec(client: int, server: int, ok: bool = True) -> RequestRecord:
    return RequestRecord(
        "/v1/chat/completions", 1.0, 2.0, 1.0, "200", ok, input_tokens=server, prompt_tokens=client
    )


def test_the_server_may_add_a_chat_templates_tokens_and_5_percent() -> None:
    assert prompt_within(1000, 1000) and prompt_within(1000, 950) and prompt_within(1000, 1082)
    assert not prompt_within(1000, 949) and not prompt_within(1000, 1083)
    assert prompt_within(10, 42) and not prompt_within(10, 43)  # a short prompt's template


def test_the_prompt_tokens_check_fails_when_the_counts_disagree() -> None:
    assert prompt_lengths_agree([RequestRecord("/x", 1, 2, 1, "200", True)]) is None  # none
    ok = prompt_lengths_agree([rec(100, 112), rec(50, 50), rec(80, 10, ok=False)])
    assert ok is not None and ok.ok and ok.details["answers"] == 2
    bad = prompt_lengths_agree([rec(100, 100), rec(500, 101)])
    assert bad is not None and not bad.ok
    assert bad.details["outside"] == 1 and "500 tokens by load.tokenizer was 101" in bad.message
