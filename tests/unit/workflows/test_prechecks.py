"""The checks before the load (workflows/prechecks.py) and capacity's budget, without a process:
the spec's files against its folder, the metric names an SLO reads, what a /metrics page shows,
the warnings with close matches, the smallest budget that holds a step."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.errors import UsageError
from slocheck.results import CapacityOptions
from slocheck.results.load_settings import load_config
from slocheck.results.run_settings import RunOptions
from slocheck.slofile import load_spec
from slocheck.workflows.capacity import capacity, check_budget, first_step_seconds
from slocheck.workflows.prechecks import (
    check_files,
    exposed_names,
    metrics_page,
    missing_metrics,
    names_in,
    slo_metrics,
)

SLOS = """
version: 1
slos:
  - {name: p95, sli: latency, percentile: 95, threshold: 500ms}
  - {name: availability, sli: availability, objective: 99%}
"""


def spec_file(folder: Path, load: str = "", slos: str = SLOS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slos.yaml"
    api = "target: {url: 'http://127.0.0.1:9', api: http}\n" if "payload" in load else ""
    path.write_text(slos + api + (f"load: {load}\n" if load else ""))
    return path


def test_a_missing_payload_is_named_with_the_path_resolved_against_the_spec_folder(
    tmp_path: Path,
) -> None:
    path = spec_file(tmp_path / "specs", "{payload: payloads/body.json}")
    with pytest.raises(UsageError) as e:
        check_files(load_spec(path))
    text = str(e.value)
    assert "load.payload: 'payloads/body.json' does not exist" in text
    assert "resolved against the spec's folder" in text
    assert str(tmp_path / "specs" / "payloads" / "body.json") in text


def test_files_next_to_the_spec_are_found_from_any_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "specs"
    path = spec_file(folder, "{scenario: mine.py, payload: body.json}")
    (folder / "mine.py").write_text("from locust import HttpUser\n")
    (folder / "body.json").write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_spec(path)
    check_files(loaded)  # no error
    # and the load runs the same files: the locustfile too is the spec folder's
    cfg = load_config(loaded, RunOptions(out_dir=tmp_path), "http://x")
    assert cfg.scenario == str(folder / "mine.py")
    assert cfg.payload == folder / "body.json"


def test_a_missing_locustfile_is_named_before_anything_starts(tmp_path: Path) -> None:
    path = spec_file(tmp_path, "{scenario: gone.py}")
    with pytest.raises(UsageError, match=r"load.scenario: 'gone.py' is neither a built-in"):
        check_files(load_spec(path))
    with pytest.raises(UsageError, match=r"--scenario: 'nowhere.py'.*current folder"):
        check_files(load_spec(spec_file(tmp_path / "b")), scenario="nowhere.py")
    check_files(load_spec(spec_file(tmp_path / "c")), scenario="spike")  # built-in


def test_a_locustfile_whose_path_holds_a_comma_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    """Locust takes its locustfiles as one list, ``-f a.py,b.py``: a comma in a path splits it
    into two files that do not exist, and Locust's own error names neither."""
    folder = tmp_path / "load,tests"
    folder.mkdir()
    (folder / "users.py").write_text("from locust import HttpUser\n")
    path = spec_file(tmp_path / "d", f"{{scenario: '{folder / 'users.py'}'}}")
    with pytest.raises(UsageError, match=r"load.scenario: .*load,tests/users.py' holds a comma"):
        check_files(load_spec(path))
    with pytest.raises(UsageError, match=r"--scenario: .* holds a comma"):
        check_files(load_spec(spec_file(tmp_path / "e")), scenario=str(folder / "users.py"))


def test_a_relative_locustfile_path_is_checked_as_locust_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locust splits its -f list first and resolves each path after: a relative path without a
    comma is fine in a current folder with one."""
    folder = tmp_path / "ci,1"
    folder.mkdir()
    (folder / "users.py").write_text("from locust import HttpUser\n")
    monkeypatch.chdir(folder)
    check_files(load_spec(spec_file(folder / "spec")), scenario="users.py")


def test_the_metric_names_an_slo_reads() -> None:
    assert names_in('ml_request_duration_seconds_bucket{job="x"}') == [
        "ml_request_duration_seconds_bucket"
    ]
    assert names_in('{__name__=~"a_success|a_failure", job="x"}') == ["a_success", "a_failure"]
    assert names_in("") == []
    spec = load_spec(spec_file_text(SLOS)).spec
    metrics = slo_metrics(spec)
    assert set(metrics) == {"p95", "availability"}
    assert all(names for names in metrics.values())


def spec_file_text(text: str) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return spec_file(folder, slos=text)


def test_a_metrics_page_shows_samples_and_announced_families() -> None:
    text = (
        "# HELP app_requests_total Requests.\n"
        "# TYPE app_requests_total counter\n"
        "# TYPE app_latency_seconds histogram\n"
        'app_latency_seconds_bucket{le="0.1"} 3\n'
        "process_cpu_seconds_total 1.5\n"
    )
    names = exposed_names(text)
    # a labelled counter with no request yet has a TYPE line and no sample: still there
    assert {"app_requests_total", "app_latency_seconds_bucket", "process_cpu_seconds_total"} <= (
        names
    )


def test_a_missing_metric_is_a_warning_naming_close_matches() -> None:
    spec = load_spec(
        spec_file_text(
            "version: 1\nslos:\n  - {name: p95, sli: latency, percentile: 95, threshold: 1s, "
            "metric: app_latncy_seconds}\n"
        )
    ).spec
    warnings = missing_metrics(spec, {"app_latency_seconds_bucket", "other_total"}, "x/metrics")
    assert len(warnings) == 1
    assert "SLO p95: no metric app_latncy_seconds_bucket on x/metrics" in warnings[0]
    assert "close matches: app_latency_seconds_bucket" in warnings[0]
    assert missing_metrics(spec, {"app_latncy_seconds_bucket"}, "x") == []


def test_uptime_is_prometheus_own_series_and_never_missing() -> None:
    spec = load_spec(
        spec_file_text("slos:\n  availability: {target: 99%, measurement: uptime}\n")
    ).spec
    assert slo_metrics(spec) == {}


def test_the_metrics_page_of_a_target() -> None:
    assert metrics_page(None) is None
    from slocheck.slofile.model import TargetSpec

    assert metrics_page(TargetSpec(url="http://h:8000/v1?x=1")) == "http://h:8000/metrics"
    assert metrics_page(TargetSpec(url="http://h:8000", metrics_url="http://h:9/m")) == (
        "http://h:9/m"
    )


def _options(tmp_path: Path, budget: float, min_rate: float | None = None) -> CapacityOptions:
    return CapacityOptions(out_dir=tmp_path / "cap", budget_s=budget, min_rate=min_rate)


def test_a_budget_shorter_than_one_step_is_a_usage_error_naming_the_smallest(
    tmp_path: Path,
) -> None:
    loaded = load_spec(Path(__file__).parents[3] / "examples" / "slos.yaml")
    with pytest.raises(UsageError) as e:
        capacity(loaded, _options(tmp_path, 20.0))
    # 42/s (P99 over 30 s steps), 5 s warm-up + 30 s load + 10 s to start and judge
    assert "--budget 20s is shorter than one step" in str(e.value)
    assert "give --budget 45s or more" in str(e.value)
    assert not (tmp_path / "cap").exists()  # nothing ran, nothing written


def test_the_smallest_budget_holds_the_first_step(tmp_path: Path) -> None:
    loaded = load_spec(Path(__file__).parents[3] / "examples" / "slos.yaml")
    options = _options(tmp_path, 45.0, min_rate=42.0)
    step, smallest = first_step_seconds(loaded, options)
    assert (step, smallest) == (35.0, 45.0)
    check_budget(loaded, options)  # exactly enough: no error
    # a low first rate makes the step longer (enough observations to decide): so the budget
    low = _options(tmp_path, 45.0, min_rate=10.0)
    assert first_step_seconds(loaded, low)[0] > 35.0
    with pytest.raises(UsageError):
        check_budget(loaded, low)
