"""Recognising a server from its ``/metrics`` by the names the presets declare (``slocheck
init``), on the recorded expositions of every server in tests/fixtures/metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.slofile.presets import PRESETS
from slocheck.slofile.presets.recognise import (
    bucket_bounds,
    exposition_names,
    preset_metric_names,
    recognise,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"


@pytest.mark.parametrize(
    ("fixture", "preset"),
    [
        ("slocheck.prom", "slocheck"),
        ("vllm.prom", "vllm"),
        ("tgi.prom", "tgi"),
        ("triton.prom", "triton"),
        ("mlserver.prom", "mlserver"),
        ("llamacpp.prom", "llamacpp"),
        ("fastapi-instrumentator.prom", "fastapi-instrumentator"),
        ("otel-http.prom", "otel-http"),
        ("otel-http-legacy.prom", "otel-http-legacy"),
    ],
)
def test_every_recorded_server_is_recognised_by_its_preset(fixture: str, preset: str) -> None:
    found = recognise(exposition_names((FIXTURES / fixture).read_text()))
    assert found is not None and found.preset.name == preset
    assert found.found and not found.missing  # every name the preset reads is there


def test_every_fixture_exists_for_every_preset() -> None:
    """A new preset comes with a recorded exposition, so that it is recognised too."""
    names = {p.stem for p in FIXTURES.glob("*.prom")}
    assert set(PRESETS) <= names


def test_shared_names_go_to_the_preset_with_the_most_of_its_own() -> None:
    # the instrumentator's two names are also two of the reference service's six and one of
    # vLLM's: the preset all of whose names are present wins the tie on count
    text = (FIXTURES / "fastapi-instrumentator.prom").read_text()
    assert recognise(exposition_names(text)).preset.name == "fastapi-instrumentator"  # type: ignore[union-attr]
    # and vLLM, which adds its own vllm: names to http_requests_total, is vLLM
    vllm = exposition_names((FIXTURES / "vllm.prom").read_text())
    assert recognise(vllm).preset.name == "vllm"  # type: ignore[union-attr]


def test_a_fresh_server_is_recognised_by_its_type_lines() -> None:
    text = (
        "# HELP rest_server_requests_total Total\n"
        "# TYPE rest_server_requests_total counter\n"
        "# TYPE rest_server_request_duration_seconds histogram\n"
    )
    assert recognise(exposition_names(text)).preset.name == "mlserver"  # type: ignore[union-attr]
    # OpenMetrics names a counter's family without _total
    om = "# TYPE rest_server_requests counter\n"
    assert "rest_server_requests_total" in exposition_names(om)


def test_gauges_alone_or_a_bare_process_recognise_nothing() -> None:
    process = "python_gc_objects_collected_total 1\nprocess_cpu_seconds_total 2\n"
    assert recognise(exposition_names(process)) is None
    # a running gauge without the request counter or latency says nothing about requests
    assert recognise({"http_server_active_requests"}) is None
    assert recognise(set()) is None


def test_the_names_of_selectors_and_regex_alternatives() -> None:
    assert preset_metric_names(PRESETS["tgi"])[:3] == (
        "tgi_request_success",
        "tgi_request_failure",
        "tgi_request_duration",
    )
    fastapi = preset_metric_names(PRESETS["fastapi-instrumentator"])
    assert fastapi == ("http_requests_total", "http_request_duration_seconds")
    assert "vllm:request_success_total" in preset_metric_names(PRESETS["vllm"])


def test_bucket_bounds_of_a_histogram_in_its_own_unit() -> None:
    ml = (FIXTURES / "mlserver.prom").read_text()
    bounds = bucket_bounds(ml, "rest_server_request_duration_seconds")
    assert bounds[0] == 0.005 and bounds[-1] == 10.0 and list(bounds) == sorted(set(bounds))
    legacy = (FIXTURES / "otel-http-legacy.prom").read_text()
    assert 250.0 in bucket_bounds(legacy, "http_server_duration_milliseconds")
    # a longer name with the same prefix is another histogram
    assert bucket_bounds('x_seconds_extra_bucket{le="1"} 1\n', "x_seconds") == ()
    assert bucket_bounds('x_bucket{le="+Inf"} 1\nx_bucket{le="0.5"} 1\n', "x") == (0.5,)
