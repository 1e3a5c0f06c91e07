"""The API settings of LoadConfig: files checked before Locust starts, env vars, snapshot format."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from slocheck.errors import UsageError
from slocheck.load.config import LOCUSTFILES, LoadConfig
from slocheck.load.locustfiles import bodies
from slocheck.load.locustfiles.datasets import read_dataset
from slocheck.load.stats import count_between, merged, read_snapshot


def cfg(**kwargs: object) -> LoadConfig:
    return LoadConfig(host="http://127.0.0.1:1", **kwargs)  # type: ignore[arg-type]


def test_each_api_gets_its_user_module(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text('{"inputs": []}')
    cases = {
        "slocheck": cfg(),
        "openai": cfg(api="openai"),
        "kserve-v2": cfg(api="kserve-v2", model="m", payload=payload),
        "http": cfg(api="http", payload=payload),
    }
    names = {"slocheck": "inference.py", "openai": "openai_user.py"}
    names |= {"kserve-v2": "kserve_user.py", "http": "http_user.py"}
    for api, config in cases.items():
        files = config.locustfiles()
        assert files[0] == LOCUSTFILES / names[api] and all(f.exists() for f in files)
    assert cfg(api="http", http_method="GET").locustfiles()  # no body needed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api": "grpc"}, "target.api: 'grpc' is not one of"),
        ({"api": "openai", "openai_endpoint": "embeddings"}, "target.endpoint"),
        ({"api": "kserve-v2", "payload": "p.json"}, "target.model: the kserve-v2 API needs"),
        ({"api": "kserve-v2", "model": "m"}, "load.payload: the kserve-v2 API needs a payload"),
        ({"api": "http"}, "load.payload: the http API needs a payload"),
        ({"api": "http", "http_method": "FETCH", "payload": "p.json"}, "target.method"),
        ({"api": "http", "http_path": "x", "payload": "p.json"}, "target.path: 'x' must start"),
        ({"api": "http", "payload": "nope.json"}, "load.payload: .*does not exist"),
        ({"api": "http", "payload": "bad.json"}, "load.payload: is not JSON"),
        ({"api": "http", "payload": "empty.jsonl"}, "load.payload: holds no body"),
        ({"api": "openai", "prompts": "prompts.jsonl"}, "load.prompts: line 3 is not JSON"),
        ({"api": "openai", "prompts": "odd.jsonl"}, 'load.prompts: line 1: expected "messages"'),
        ({"api": "openai", "prompts": "empty.jsonl"}, "load.prompts: holds no conversation"),
    ],
)
def test_bad_settings_are_clear_errors_before_locust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text("{}")
    Path("bad.json").write_text("{nope")
    Path("empty.jsonl").write_text("\n  \n")
    Path("prompts.jsonl").write_text('{"prompt": "a"}\n\n{"prompt": \n')
    Path("odd.jsonl").write_text('{"text": "a"}\n')
    for key in ("payload", "prompts"):
        if key in kwargs:
            kwargs[key] = Path(str(kwargs[key]))
    with pytest.raises(UsageError, match=message):
        cfg(**kwargs).locustfiles()


def test_jsonl_bodies_are_kept_verbatim_and_empty_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n{not json\n  {"b":2}  \n')
    assert bodies.read_payload(path) == [b'{"a": 1}', b"{not json", b'  {"b":2}  ']
    whole = tmp_path / "p.json"
    whole.write_text('{\n  "a": [1, 2]\n}\n')
    assert json.loads(bodies.read_payload(whole)[0]) == {"a": [1, 2]}


def test_prompts_and_synthetic_lengths(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        '{"prompt": "hello there", "max_tokens": 7}\n'
        '{"messages": [{"role": "system", "content": "be brief"}, '
        '{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}\n'
    )
    first, second = (c.single for c in read_dataset(path))
    assert first.messages == ({"role": "user", "content": "hello there"},)
    assert first.max_tokens == 7 and second.max_tokens is None
    assert second.text == "be brief\nhi"
    rng = random.Random(0)
    assert [bodies.Lengths(5).draw(rng) for _ in range(3)] == [5, 5, 5]
    assert all(bodies.Lengths(1, 50).draw(rng) >= 1 for _ in range(200))
    prompt = bodies.synthetic_prompt(random.Random(1), 12)
    assert len(prompt.text.split()) == 12 and prompt.messages[0]["content"] == prompt.text
    assert prompt.max_tokens is None  # drawn from output_tokens when sent
    lengths = bodies.Lengths(32.5, 8, "lognormal", 2, 400)
    assert bodies.Lengths.decode(bodies.encode_lengths(lengths), bodies.Lengths(1)) == lengths
    assert bodies.Lengths.decode("", bodies.Lengths(16, 4)) == bodies.Lengths(16, 4)


def test_api_settings_reach_locust_as_env_vars(tmp_path: Path) -> None:
    lengths = bodies.Lengths(8, 2)
    env = cfg(api="openai", model="llama", stream=False, output_tokens=lengths, seed=3).api_env()
    assert env["SLOCHECK_API"] == "openai" and env["SLOCHECK_MODEL"] == "llama"
    assert env["SLOCHECK_STREAM"] == "0"
    assert bodies.Lengths.decode(env["SLOCHECK_OUTPUT_TOKENS"], bodies.Lengths(1)) == lengths
    assert env["SLOCHECK_INPUT_TOKENS"] == "" and env["SLOCHECK_SEED"] == "3"
    rel = cfg(api="http", payload=Path("x.json")).api_env()["SLOCHECK_PAYLOAD"]
    assert Path(rel).is_absolute()  # Locust may run elsewhere


def test_rejected_and_counts_merge_and_old_files_still_read(tmp_path: Path) -> None:
    new = {
        "requests": {"/v2/models/m/infer": {"100": [10, 4, "", 1, 2]}},
        "counts": {"output_tokens": {"100": 40, "101": 8}},
    }
    old = {"requests": {"/v2/models/m/infer": {"100": [5, 1, "", 1], "101": [3, 0, ""]}}}
    other = {"counts": {"output_tokens": {"101": 2}, "input_tokens": {"99": 5}}}
    for i, data in enumerate((new, old, other)):
        (tmp_path / f"client-{i}.json").write_text(json.dumps(data))
    snap = read_snapshot(tmp_path)
    slot = snap.requests["/v2/models/m/infer"][100]
    assert (slot.count, slot.errors, slot.unanswered, slot.rejected) == (15, 5, 2, 2)
    assert merged(snap.requests.values())[100].rejected == 2
    assert snap.counts == {"output_tokens": {100: 40, 101: 10}, "input_tokens": {99: 5}}
    table = snap.counts["output_tokens"]
    assert count_between(table) == 50
    assert count_between(table, lo=101) == 10 and count_between(table, hi=101) == 40
    assert count_between({}, 0, 10) == 0


def test_the_recorder_counts_4xx_as_rejected_and_tokens_per_second(tmp_path: Path) -> None:
    """Run inside a child: importing the plugin imports Locust, which patches with gevent."""
    import subprocess
    import sys

    code = (
        "import json; from slocheck.load.locustfiles import plugin as p\n"
        "r = p.Recorder()\n"
        "for s in ('200', '422', '404', '429', '424', '500', '0', 'error'):\n"
        "    r.request('/x', 0.01, s == '200', s)\n"
        "r.count('output_tokens', 7); r.count('output_tokens', 3)\n"
        "print(json.dumps(r.snapshot()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    snap = json.loads(out.stdout)
    (tmp_path / "client-1.json").write_text(out.stdout)
    slots = read_snapshot(tmp_path).requests["/x"].values()  # a second may end mid-way
    assert [sum(getattr(s, k) for s in slots) for k in ("count", "errors")] == [8, 7]
    # 424 (TGI: the generation failed) and 429 (overloaded) are the server's failures
    assert [sum(getattr(s, k) for s in slots) for k in ("unanswered", "rejected")] == [2, 2]
    failed = read_snapshot(tmp_path).failed["/x"]
    assert failed == {"429": 1, "424": 1, "500": 1, "0": 1, "error": 1}
    assert sum(snap["counts"]["output_tokens"].values()) == 10
    assert all(len(v) == 5 for v in snap["requests"]["/x"].values())  # rejected is 5th
