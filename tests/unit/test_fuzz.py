"""Bad input of every kind, generated: SLO specs, command lines and Prometheus answers. Nothing
may raise anything but a SlocheckError (exit 2 or 3), and the CLI never shows a traceback."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slocheck.cli import main
from slocheck.errors import ExitCode, SlocheckError
from slocheck.slofile import parse_spec

EXAMPLES = Path(__file__).parents[2] / "examples"
FUZZ = settings(  # SLOCHECK_FUZZ_EXAMPLES=2000 for a deeper search than CI's
    max_examples=int(os.environ.get("SLOCHECK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- specs ----------------------------------------------------------------------------------

KEYS = [
    "version", "service", "target", "prometheus", "load", "slos", "regression", "name", "sli",
    "objective", "threshold", "percentile", "selector", "severity", "url", "users", "rate",
    "duration", "warmup", "scenario", "faults", "error_rate", "latency", "crash_after", "query",
    "on_no_data", "min_samples", "measurement", "bearer_token_env", "headers", "ready_path",
    "ready_timeout", "p95_latency", "canary", "noise", "model", "max_batch_size", "metric",
]  # fmt: skip
ODD = [
    "", "fast", "500ms", "-1s", "1e309s", "99.9%", "150%", "NaN", "nan", "inf", "-inf", "1e999",
    "10**10", "${HOME}", "{{", "]]", "null", "~", "yes", "0x10", "9" * 400, "\x00", "é",
    "'; DROP", "<script>", "job=\"x\"", "up{", "1/0", "now-10m", "P1D",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD),
    st.text(max_size=20),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)
BASE = yaml.safe_load((EXAMPLES / "slos.yaml").read_text())


def _mutate(data: Any, path: list[Any], new: Any) -> Any:
    """``data`` with the node at ``path`` (as far as it exists) replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and data:
        key = list(data)[head % len(data)]
        return {**data, key: _mutate(data[key], rest, new)}
    if isinstance(data, list) and data:
        i = head % len(data)
        return [*data[:i], _mutate(data[i], rest, new), *data[i + 1 :]]
    return new


def _is_spec_error(text: str) -> None:
    try:
        parse_spec(text, "fuzz.yaml")
    except SlocheckError as e:
        assert e.exit_code == ExitCode.USAGE, e
        assert str(e).startswith("fuzz.yaml"), f"the error must name the file: {e}"


@FUZZ
@given(st.lists(st.integers(0, 20), max_size=4), values)
def test_a_mutated_spec_is_valid_or_a_spec_error(path: list[int], new: Any) -> None:
    _is_spec_error(yaml.safe_dump(_mutate(BASE, path, new), allow_unicode=True))


@FUZZ
@given(values)
def test_any_yaml_document_is_valid_or_a_spec_error(doc: Any) -> None:
    _is_spec_error(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.data())
def test_corrupted_spec_text_is_valid_or_a_spec_error(data: st.DataObject) -> None:
    text = (EXAMPLES / "slos.yaml").read_text()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 30)))
        text = (
            text[:i] + data.draw(st.sampled_from(["", *ODD, "\n  ", ": ", "- ", "\t"])) + text[j:]
        )
    _is_spec_error(text)


# -- command lines --------------------------------------------------------------------------

FLAG_VALUES = st.one_of(st.sampled_from(ODD), st.text(max_size=12), st.integers(-5, 10**6).map(str))
COMMANDS = {
    "validate": ["--slo"],
    "verify": ["--slo", "--prometheus-url", "--start", "--end", "--json"],
    "run": [
        "--slo", "--users", "--rate", "--duration", "--warmup", "--processes", "--scenario",
        "--target-url", "--prometheus-url", "--history", "--compare-to", "--out",
    ],
    "serve": [
        "--port", "--max-batch-size", "--max-batch-wait-ms", "--fault-error-rate",
        "--fault-latency", "--fault-crash-after", "--model", "--device", "--max-queue",
    ],
    "compare": ["--baseline", "--history", "--canary", "--canary-selector"],
    "history": [],
    "bench": ["--repeat", "--slo"],
}  # fmt: skip


@pytest.fixture
def no_side_effects(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """What would start processes or a server stops right after argument checking."""
    from slocheck.errors import InfrastructureError

    def stop(*_: Any, **__: Any) -> Any:
        raise InfrastructureError("stopped by the fuzz test before any process starts")

    monkeypatch.setattr("slocheck.workflows.run.run", stop)
    monkeypatch.setattr("slocheck.service.serve", stop)
    monkeypatch.chdir(tmp_path)


@FUZZ
@given(
    st.sampled_from(sorted(COMMANDS)),
    st.lists(st.tuples(st.integers(0, 20), FLAG_VALUES), max_size=5),
    st.booleans(),
)
def test_any_command_line_exits_cleanly(
    no_side_effects: None,
    capsys: pytest.CaptureFixture[str],
    command: str,
    flags: list[tuple[int, str]],
    good_spec: bool,
) -> None:
    argv = [command]
    if good_spec and command in ("validate", "verify", "run", "bench"):
        argv += ["--slo", str(EXAMPLES / "slos.yaml")]
    for i, value in flags:
        names = COMMANDS[command] or ["--json"]
        argv += [names[i % len(names)], value]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: --help and bad usage
        code = e.code if isinstance(e.code, int) else 2
    err = capsys.readouterr().err
    event(f"{command}: exit {code}")
    assert code in (0, 1, 2, 3), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)


# -- Prometheus answers ---------------------------------------------------------------------

NUMBERS = st.one_of(
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e308", "1e400", "-5", "0", "", "x", "1" * 400]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(2**80), 2**80),
    st.none(),
)
SAMPLE = st.one_of(
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), NUMBERS).map(list),
    st.lists(NUMBERS, max_size=3),
    NUMBERS,
)
SERIES = st.fixed_dictionaries(
    {
        "metric": st.one_of(
            st.dictionaries(
                st.sampled_from(["__name__", "status", "code", "le", "job", "endpoint"]),
                st.one_of(st.sampled_from(["200", "500", "0.5", "+Inf", "NaN", "x"]), NUMBERS),
                max_size=4,
            ),
            NUMBERS,
        ),
        "values": st.one_of(st.lists(SAMPLE, max_size=5), NUMBERS),
        "value": SAMPLE,
    }
)
ANSWERS = st.one_of(
    st.builds(
        lambda kind, result, status: {
            "status": status,
            "data": {"resultType": kind, "result": result},
        },
        st.sampled_from(["matrix", "vector", "scalar", "string", "junk"]),
        st.one_of(st.lists(SERIES, max_size=4), SAMPLE, values),
        st.sampled_from(["success", "error", None]),
    ),
    values,
)
BODIES = st.one_of(
    ANSWERS.map(lambda a: json.dumps(a).encode()),
    st.binary(max_size=64),
    st.just(b'{"status": "success", "data": '),  # cut short
)


class _Answers:
    """A tiny HTTP server answering every request with the next (status, body)."""

    def __init__(self) -> None:
        self.status, self.body = 200, b"{}"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            do_POST = do_GET

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def answers() -> Iterator[_Answers]:
    a = _Answers()
    yield a
    a.server.shutdown()


@FUZZ
@given(st.sampled_from([200, 200, 200, 400, 401, 404, 422, 500, 503]), BODIES)
def test_any_prometheus_answer_is_judged_or_an_error(
    answers: _Answers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
) -> None:
    answers.status, answers.body = status, body
    spec = tmp_path / "slos.yaml"
    data = yaml.safe_load((EXAMPLES / "slos.yaml").read_text())
    data["prometheus"]["retries"] = 0  # a 503 is retried with back-off otherwise
    spec.write_text(yaml.safe_dump(data))
    report = tmp_path / "report.json"
    code = main(
        [
            "verify",
            "--slo",
            str(spec),
            "--prometheus-url",
            answers.url,
            "--start",
            "now-10m",
            "--json",
            str(report),
        ]
    )
    err = capsys.readouterr().err
    event(f"exit {code}")
    assert code in (1, 2, 3), (status, body[:200], err)
    assert code != 0, "garbage must never pass"
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 1:
        json.loads(report.read_text())  # a report that parses (NaN is not JSON)
