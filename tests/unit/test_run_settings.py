"""Issue 26, item 3: one run-settings model. Every option of a run is declared once
(``RunOptions`` in ``results/run_settings.py``: its default, kind, bounds and help text);
``slocheck run``'s flags are generated from it, ``capacity`` and ``bench`` take theirs from it,
the pytest plugin takes the same names, and all of them refuse the same values."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

import pytest

from slocheck.cli import build_parser
from slocheck.errors import UsageError
from slocheck.results import BenchOptions, CapacityOptions, RunOptions
from slocheck.results.load_settings import load_config
from slocheck.results.run_settings import SETTINGS, setting_names

#: run's flags that are not options of a run: the spec, the reports, the history
NOT_SETTINGS = {"--help", "--slo", "--out", "--history", "--compare-to"}
SPEC = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"


def _flags(command: str) -> dict[str, argparse.Action]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    parser = sub.choices[command]
    return {a.option_strings[-1]: a for a in parser._actions if a.option_strings}


def test_every_flag_of_run_is_a_setting_with_its_declared_default_and_help() -> None:
    flags = _flags("run")
    assert set(flags) - NOT_SETTINGS == {s.flag for s in SETTINGS.values()}
    for s in SETTINGS.values():
        action = flags[s.flag]
        assert action.dest == s.name and action.help == s.help, s.name
        assert action.default == s.default, s.name
    assert len(SETTINGS) >= 14 and "arrival" in SETTINGS and "max_in_flight" in SETTINGS


@pytest.mark.parametrize(
    ("command", "options"), [("capacity", CapacityOptions), ("bench", BenchOptions)]
)
def test_capacity_and_bench_take_their_run_options_from_the_same_declarations(
    command: str, options: type
) -> None:
    names = setting_names(options)
    assert names  # capacity: warmup, target_url, prometheus_url, processes; bench: duration
    flags = _flags(command)
    for name in names:
        s = SETTINGS[name]
        assert flags[s.flag].help == s.help and flags[s.flag].default == s.default, name


def test_the_plugin_takes_every_setting_by_its_name() -> None:
    from slocheck.pytest_plugin import Slocheck, checked_overrides

    given = {
        "target_url": "http://127.0.0.1:9",
        "prometheus_url": "http://127.0.0.1:9090",
        "scenario": "ramp",
        "users": 4,
        "rate": 40,
        "duration": "8s",
        "warmup": 0,
        "arrival": "open",
        "max_in_flight": 20,
        "processes": 2,
        "expect_workers": 1,
        "master_bind": "127.0.0.1:5599",
        "workers_timeout": "30s",
        "with_rules": 1,
    }
    assert set(given) == set(SETTINGS)  # a new setting is added here too
    got = checked_overrides(given, "slocheck.run")
    assert got["duration"] == 8.0 and got["rate"] == 40.0 and got["with_rules"] is True
    assert got["master_bind"] == ("127.0.0.1", 5599) and got["arrival"] == "open"
    # the same names reach RunOptions, which the gate runs with
    assert RunOptions(out_dir=Path("o"), **got).arrival == "open"
    params = inspect.signature(Slocheck.run).parameters
    assert params["settings"].kind is inspect.Parameter.VAR_KEYWORD


# (name, text on the command line, value in Python, accepted)
SAME = [
    ("users", "0", 0, False),
    ("users", "8", 8, True),
    ("users", "10001", 10_001, False),
    ("rate", "0", 0, False),
    ("rate", "nan", float("nan"), False),
    ("rate", "2.5", 2.5, True),
    ("duration", "0s", "0s", False),
    ("duration", "8d", "8d", False),
    ("duration", "10s", "10s", True),
    ("warmup", "0s", 0, True),
    ("warmup", "2d", "2d", False),
    ("arrival", "open", "open", True),
    ("arrival", "later", "later", False),
    ("max_in_flight", "0", 0, False),
    ("processes", "129", 129, False),
    ("expect_workers", "-1", -1, False),
    ("expect_workers", "3", 3, True),
    ("workers_timeout", "0s", 0, False),
    ("workers_timeout", "5m", "5m", True),
    ("master_bind", "localhost", "localhost", False),
    ("master_bind", "*:5557", "*:5557", True),
    ("target_url", "127.0.0.1:8000", "127.0.0.1:8000", False),
    ("target_url", "http://u:p@h:1", "http://u:p@h:1", True),
    ("scenario", "stedy", "stedy", False),
    ("scenario", "spike", "spike", True),
]


@pytest.mark.parametrize(("name", "text", "value", "ok"), SAME)
def test_the_command_line_and_the_plugin_refuse_the_same_values(
    name: str, text: str, value: Any, ok: bool, tmp_path: Path
) -> None:
    from slocheck.pytest_plugin import checked_overrides

    flag = SETTINGS[name].flag
    argv = ["run", "--slo", "s.yaml", f"{flag}={text}"]
    if ok:
        parsed = getattr(build_parser().parse_args(argv), name)
        assert checked_overrides({name: value}, "here")[name] == parsed
        return
    with pytest.raises(UsageError, match=f"argument {flag}: "):
        build_parser().parse_args(argv)
    with pytest.raises(UsageError, match=f"^here: {name}: "):
        checked_overrides({name: value}, "here")


def test_the_python_api_is_checked_as_the_command_line_is(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="RunOptions: users: expected a whole number from 1"):
        RunOptions(out_dir=tmp_path, users=0)
    with pytest.raises(UsageError, match="RunOptions: arrival: expected closed or open"):
        RunOptions(out_dir=tmp_path, arrival="opne")
    with pytest.raises(UsageError, match="CapacityOptions: processes: expected a whole number"):
        CapacityOptions(out_dir=tmp_path, processes=0)
    with pytest.raises(UsageError, match="BenchOptions: duration: expected a duration from 1 s"):
        BenchOptions(repeat=2, history="h", out_dir=tmp_path, duration=0)
    assert RunOptions(out_dir=tmp_path, duration="1m").duration == 60.0  # type: ignore[arg-type]
    assert RunOptions(out_dir=tmp_path, master_bind=("127.0.0.1", 5599)).master_bind[1] == 5599


def test_the_options_override_the_specs_load_in_one_place(tmp_path: Path) -> None:
    from slocheck.pytest_plugin import resolve
    from slocheck.slofile import parse_spec

    marker = pytest.mark.slo("s.yaml", arrival="open", rate=50, warmup="0s").mark
    options = resolve(
        None,
        {"duration": "3s"},
        marker=marker,
        option=None,
        ini=None,
        test_dir=tmp_path,
        invocation_dir=tmp_path,
        ini_dir=tmp_path,
    ).options
    run = RunOptions(out_dir=tmp_path, **options)
    assert run.load_overrides() == {"arrival": "open", "rate": 50.0, "duration": 3.0, "warmup": 0}
    loaded = parse_spec(SPEC)
    spec = loaded.spec
    cfg = load_config(loaded, run, "http://x")
    assert (cfg.arrival, cfg.rate, cfg.duration, cfg.warmup) == ("open", 50.0, 3.0, 0.0)
    assert cfg.open_loop and cfg.users == spec.load.users  # users: still the spec's
    closed = load_config(loaded, RunOptions(out_dir=tmp_path), "http://x")
    assert (closed.arrival, closed.duration) == (spec.load.arrival, spec.load.duration)


def test_the_plugins_gate_runs_with_the_arrival_it_was_given(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture's whole path from the keyword arguments to the run's options (the run
    itself replaced: the integration tests run real gates)."""
    from slocheck.pytest_plugin import Slocheck

    seen: list[RunOptions] = []

    class Ran(Exception):
        pass

    def fake_run(loaded: Any, options: RunOptions, **kw: Any) -> Any:
        seen.append(options)
        raise Ran

    monkeypatch.setattr("slocheck.workflows.run.run", fake_run)
    gate = Slocheck(request, tmp_path)
    with pytest.raises(Ran):
        gate.run(SPEC, arrival="open", rate=20, max_in_flight=8, out_dir=tmp_path / "o")
    [options] = seen
    assert (options.arrival, options.rate, options.max_in_flight) == ("open", 20.0, 8)
    assert options.out_dir == tmp_path / "o"
    with pytest.raises(UsageError, match=r"slocheck\.run: unknown override 'arival'"):
        gate.run(SPEC, arival="open")
