from __future__ import annotations

import json
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from slocheck.errors import UsageError
from slocheck.load.config import LOCUSTFILES, LoadConfig
from slocheck.load.scenarios import users_at
from slocheck.load.stats import (
    mean_value,
    merged,
    new_histogram,
    read_snapshot,
    summarise,
    timeline,
)


@pytest.mark.parametrize(
    ("scenario", "t", "users"),
    [
        ("steady", 0, 20),
        ("steady", 14.9, 20),
        ("steady", 15, None),
        ("soak", 3, 20),
        ("ramp", 0, 1),
        ("ramp", 5 + 5, 10),
        ("ramp", 14.99, 20),
        ("spike", 5 + 1, 5),
        ("spike", 5 + 4.5, 20),
        ("spike", 5 + 8, 5),
        ("step", 5 + 0.5, 5),
        ("step", 5 + 3, 10),
        ("step", 5 + 6, 15),
        ("step", 5 + 9.9, 20),
    ],
)
def test_shapes(scenario: str, t: float, users: int | None) -> None:
    assert users_at(scenario, 20, t, warmup=5, duration=10) == users


def test_unknown_shape() -> None:
    with pytest.raises(ValueError):
        users_at("tsunami", 5, 1, 0, 10)


def test_slocheck_never_imports_locust_or_gevent() -> None:
    """gevent's monkey-patching must not reach slocheck's own process."""
    import subprocess
    import sys

    code = (
        "import sys, slocheck.cli, slocheck.workflows.run, slocheck.load, slocheck.report.html; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_cli_and_the_run_never_import_the_service_app() -> None:
    """``slocheck.service.config`` (the CLI's parser, the embedded stack) is not the web app,
    numpy and the models: those are imported by ``slocheck serve`` only, not before a run."""
    import subprocess
    import sys

    code = (
        "import sys, slocheck.cli, slocheck.workflows.run; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'starlette') "
        "or m in ('slocheck.service.app', 'slocheck.service.server')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_service_package_still_exports_its_names() -> None:
    import slocheck.service as service
    from slocheck.service.app import create_app
    from slocheck.service.config import ServiceConfig

    assert service.create_app is create_app and service.ServiceConfig is ServiceConfig
    assert all(getattr(service, name) is not None for name in service.__all__)
    with pytest.raises(AttributeError):
        _ = service.nothing_of_that_name


@pytest.mark.parametrize(
    "values",
    [
        [1],
        [1000] * 7 + [2000, 3_599_999_999],
        list(range(1, 5000, 7)),
        [v * 997 % 3_000_000 + 1 for v in range(3000)],
        [10**k for k in range(10)] * 3,
    ],
)
def test_mean_value_is_hdrh_mean_exactly(values: list[int]) -> None:
    hist = new_histogram()
    for v in values:
        hist.record_value(v)
    assert mean_value(hist) == hist.get_mean_value()  # the same value, not an approximation
    merged_ = new_histogram()
    merged_.add(HdrHistogram.decode(hist.encode()))
    assert mean_value(merged_) == hist.get_mean_value()


def test_mean_value_of_an_empty_histogram() -> None:
    assert mean_value(new_histogram()) == new_histogram().get_mean_value() == 0.0


def test_locustfiles(tmp_path: Path) -> None:
    files = LoadConfig(host="http://127.0.0.1:1").locustfiles()
    assert files[0] == LOCUSTFILES / "inference.py" and all(f.exists() for f in files)
    mine = tmp_path / "mine.py"
    mine.write_text("")
    assert LoadConfig(host="x", scenario=str(mine)).locustfiles()[0] == mine
    with pytest.raises(UsageError, match="neither a built-in scenario"):
        LoadConfig(host="x", scenario="tsunami").locustfiles()


def _encoded(values_us: list[int]) -> str:
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in values_us:
        h.record_value(v)
    encoded: bytes = h.encode()
    return encoded.decode()


def _write(
    path: Path,
    seconds: dict[int, list[int]],
    errors: int = 0,
    unanswered: int | None = None,
    **marks: float,
) -> None:
    extra = [] if unanswered is None else [unanswered]  # older plugins wrote three fields
    path.write_text(
        json.dumps(
            {
                "done": True,
                "marks": marks,
                "requests": {
                    "/v1/classify": {
                        str(s): [len(v), errors, _encoded(v), *extra] for s, v in seconds.items()
                    }
                },
                "metrics": {"ttft": {"100": [1, 0, _encoded([5000])]}},
                "status": {"/v1/classify": {"200": sum(len(v) for v in seconds.values())}},
            }
        )
    )


def test_snapshots_of_several_processes_merge_exactly(tmp_path: Path) -> None:
    _write(
        tmp_path / "client-1.json",
        {100: [1000] * 90, 101: [2000] * 10},
        test_start=99.5,
        peak_users=8,
        test_stop=110,
    )
    _write(
        tmp_path / "client-2.json",
        {101: [50_000] * 5},
        errors=1,
        unanswered=1,
        test_start=99.2,
        peak_users=8,
        test_stop=111,
    )
    (tmp_path / "client-3.json").write_text("{half a file")  # skipped, not fatal
    snap = read_snapshot(tmp_path)
    assert snap.processes == 2
    assert snap.marks == {"test_start": 99.2, "peak_users": 8, "test_stop": 111}
    assert snap.status["/v1/classify"]["200"] == 105
    all_ = summarise(snap.requests["/v1/classify"])
    assert (all_.count, all_.errors) == (105, 1)
    assert all_.percentiles_s["50"] == pytest.approx(0.001, rel=1e-3)
    assert all_.max_s == pytest.approx(0.05, rel=1e-3)
    later = summarise(snap.requests["/v1/classify"], lo=101)
    assert later.count == 15
    assert merged(snap.requests.values())[101].unanswered == 1
    line = timeline(merged(snap.requests.values()))
    assert [p["requests"] for p in line] == [90, 15]
    empty = summarise(snap.requests["/v1/classify"], lo=500)
    assert empty.count == 0 and empty.percentiles_s == {}


def test_a_long_run_is_read_back_in_bounded_memory(tmp_path: Path) -> None:
    """An hour of seconds: only compressed histograms are held (an open one takes ~185 KB, so
    holding one per second would take 650 MB), and summaries decode one second at a time."""
    import tracemalloc

    _write(tmp_path / "client-1.json", {s: [1000 + s] * 20 for s in range(3600)}, test_start=0)
    tracemalloc.start()
    try:
        snap = read_snapshot(tmp_path)
        whole = summarise(snap.requests["/v1/classify"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert whole.count == 72_000
    assert peak < 30 * 2**20
