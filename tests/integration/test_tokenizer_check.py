"""``load.tokenizer`` end to end on the embedded service's OpenAI API, which counts a prompt's
tokens as its words (``service/models.tokenize``): with a tokenizer that splits words, every
prompt is sent at the length asked for and the server counts it so (the ``prompt_tokens``
cross-check holds); with one that splits characters (not the model's), the server counts about
a fifth of what the client meant, and the run cannot pass.

Counts only: which tokenizer, which lengths and what the server reported, at any speed."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_spec
from tests.unit.load.test_tokenizer import char_tokenizer, word_tokenizer

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
SPEC = """version: 1
service: {{model: generator}}
target: {{api: openai, model: slocheck-generator}}
load:
  users: 2
  rate: 10
  warmup: 1s
  duration: 3s
  tokenizer: {tokenizer}
  input_tokens: {{distribution: uniform, min: 20, max: 60}}
  output_tokens: {{mean: 3}}
slos:
  - {{name: answered, sli: availability, objective: 80%, source: client, min_samples: 10}}
"""


def run(tmp_path: Path, tokenizer: Path) -> tuple[int, dict[str, Any], list[dict[str, Any]], str]:
    code, report, output = run_spec(tmp_path, SPEC.format(tokenizer=tokenizer.name))
    with gzip.open(tmp_path / "out" / "requests.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return code, report, rows, output


def test_the_models_tokenizer_sends_exact_lengths_the_server_agrees_with(tmp_path: Path) -> None:
    code, report, rows, output = run(tmp_path, word_tokenizer(tmp_path / "words.json"))
    checks = {c["name"]: c for c in report["cross_checks"]}
    assert checks["prompt_tokens"]["ok"], output
    answered = [r for r in rows if r["ok"]]
    assert answered, output
    # the server's count of every prompt is the client's, exactly: one word, one token
    assert all(r["input_tokens"] == r["prompt_tokens"] for r in answered)
    assert all(20 <= r["prompt_tokens"] <= 60 for r in answered)
    assert code == 0, output


def test_a_tokenizer_that_is_not_the_models_keeps_the_run_from_passing(tmp_path: Path) -> None:
    code, report, rows, output = run(tmp_path, char_tokenizer(tmp_path / "chars.json"))
    checks = {c["name"]: c for c in report["cross_checks"]}
    check = checks["prompt_tokens"]
    assert not check["ok"], output
    assert check["details"]["outside"] == check["details"]["answers"] > 0
    # a character a token for the client, a word a token for the server: 3 to 7 times fewer
    assert all(r["input_tokens"] * 3 < r["prompt_tokens"] for r in rows if r["ok"])
    assert report["verdict"] != "pass" and code == 1, output
    assert "the tokenizer is not the model's" in output
