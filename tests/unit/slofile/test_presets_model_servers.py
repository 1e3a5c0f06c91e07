"""The triton, mlserver and fastapi-instrumentator presets against their ``/metrics`` fixtures.

Every name a preset uses must be in its server's recorded page with the type the preset reads
it as, and the preset's selectors must count the totals the fixture's header says it holds
(requests, errors, the bucket of each quantile): a preset whose names, labels, matchers or
error regex drift from the server's page fails here before it gives a wrong verdict."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from slocheck.promql import Matcher, Selector, parse_matchers
from slocheck.slofile.presets import PRESETS
from slocheck.slofile.presets.base import Histogram, Preset

FIXTURES = Path(__file__).parents[2] / "fixtures" / "metrics"

#: preset name -> its fixture; mlserver.prom is recorded from a real MLServer on another branch
CASES = {
    "triton": "triton.prom",
    "mlserver": "mlserver.prom",
    "fastapi-instrumentator": "fastapi-instrumentator.prom",
}

_BOUND = r"([0-9.eE+-]+|\+Inf)"
_QUANTILE = re.compile(rf"p([0-9.]+)=\({_BOUND},{_BOUND}\]")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float
    family_type: str


def _samples(preset: str) -> tuple[list[Sample], str]:
    path = FIXTURES / CASES[preset]
    if not path.exists():
        pytest.skip(f"{path.name} is not here yet (recorded from a real server on another branch)")
    text = path.read_text()
    written = {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines()}
    out = [
        Sample(_as_written(s.name, written), dict(s.labels), s.value, family.type)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]
    return out, text


def _as_written(name: str, written: set[str]) -> str:
    """The parser names every counter sample ``*_total``; Prometheus keeps the name the server
    wrote (Triton's ``nv_inference_request_success``), and so do the presets."""
    if name not in written and name.endswith("_total") and name[: -len("_total")] in written:
        return name[: -len("_total")]
    return name


def _name_and_matchers(series: str) -> tuple[list[str], tuple[Matcher, ...]]:
    """``x{a="b"}`` -> (["x"], [a="b"]); ``{__name__=~"a|b"}`` -> (["a", "b"], [])."""
    sel = Selector.parse(series)
    names = sel.names()
    assert names, f"{series}: no metric name"
    return names, sel.without("__name__").matchers


def _matches(labels: dict[str, str], matchers: Iterable[Matcher]) -> bool:
    return all(m.accepts(labels.get(m.label, "")) for m in matchers)


def _request_samples(preset: Preset, samples: list[Sample]) -> list[Sample]:
    assert preset.requests is not None
    names, matchers = _name_and_matchers(preset.requests.series)
    return [s for s in samples if s.name in names and _matches(s.labels, matchers)]


def _is_error(preset: Preset, s: Sample) -> bool:
    assert preset.requests is not None
    label = preset.requests.error_label
    # a series without the label is no error (Triton's success counter has no reason)
    value = s.name if label == "__name__" else s.labels.get(label, "\x00")
    return re.fullmatch(preset.requests.error_values, value) is not None


def _histograms(preset: Preset) -> list[Histogram]:
    return [h for h in (preset.latency, preset.ttft, preset.inter_token_latency) if h]


def _header(text: str, key: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.mark.parametrize("name", CASES)
def test_every_name_the_preset_uses_has_its_type(name: str) -> None:
    preset = PRESETS[name]
    samples, _ = _samples(name)
    types = {s.name: s.family_type for s in samples}
    assert preset.requests is not None
    expected: dict[str, str] = dict.fromkeys(
        _name_and_matchers(preset.requests.series)[0], "counter"
    )
    expected.update({f"{h.metric}_bucket": "histogram" for h in _histograms(preset)})
    expected.update({g: "gauge" for g in (preset.queue, preset.running) if g})
    expected.update({c: "counter" for c in (preset.output_tokens, preset.input_tokens) if c})
    for metric, kind in expected.items():
        assert metric in types, f"{name}: {metric} is not in {CASES[name]}"
        assert types[metric] == kind, f"{name}: {metric} is a {types[metric]}, not a {kind}"


@pytest.mark.parametrize("name", CASES)
def test_histograms_have_le_buckets_and_inf(name: str) -> None:
    preset = PRESETS[name]
    samples, _ = _samples(name)
    for h in _histograms(preset):
        buckets = [s for s in samples if s.name == f"{h.metric}_bucket"]
        assert buckets, f"{h.metric}_bucket"
        assert all("le" in s.labels for s in buckets)
        assert any(s.labels["le"] == "+Inf" for s in buckets)
        assert [s for s in buckets if _matches(s.labels, parse_matchers(h.matchers))]


@pytest.mark.parametrize("name", CASES)
def test_request_series_carry_the_error_label_and_both_outcomes(name: str) -> None:
    preset = PRESETS[name]
    samples, text = _samples(name)
    counted = _request_samples(preset, samples)
    assert counted, f"{name}: the requests selector matches nothing"
    assert preset.requests is not None
    label = preset.requests.error_label
    # two counters (Triton's success and failure): the label marks the failure's series only
    two = "__name__" in preset.requests.series
    assert all(label == "__name__" or label in s.labels or two for s in counted)
    assert any(label == "__name__" or label in s.labels for s in counted)
    outcomes = {_is_error(preset, s) for s in counted if s.value > 0}
    assert False in outcomes, f"{name}: every request counted is an error"
    # a recording without a totals header may be of a healthy run: it need hold no error
    if _header(text, "totals") is not None:
        assert True in outcomes, f"{name}: no error told apart from the successes"
    if preset.route_label is not None:
        assert all(preset.route_label in s.labels for s in counted)


@pytest.mark.parametrize("name", CASES)
def test_the_selectors_count_the_header_totals(name: str) -> None:
    preset = PRESETS[name]
    samples, text = _samples(name)
    totals = _header(text, "totals")
    if totals is None:
        pytest.skip(f"{CASES[name]} has no '# totals:' header")
    want = {k: int(v) for k, v in (kv.split("=") for kv in totals.split())}
    counted = _request_samples(preset, samples)
    assert sum(s.value for s in counted) == want["requests"]
    assert sum(s.value for s in counted if _is_error(preset, s)) == want["errors"]


def _bound(text: str) -> float:
    return float("inf") if text == "+Inf" else float(text)


@pytest.mark.parametrize("name", CASES)
def test_each_quantile_lies_in_the_bucket_the_header_names(name: str) -> None:
    preset = PRESETS[name]
    samples, text = _samples(name)
    header = _header(text, "quantiles")
    if header is None:
        pytest.skip(f"{CASES[name]} has no '# quantiles:' header")
    hist = preset.latency or preset.ttft
    assert hist is not None
    matchers = parse_matchers(hist.matchers)
    by_le: dict[float, float] = {}
    for s in samples:
        if s.name == f"{hist.metric}_bucket" and _matches(s.labels, matchers):
            le = _bound(s.labels["le"])
            by_le[le] = by_le.get(le, 0.0) + s.value
    bounds = sorted(by_le)
    counts = [by_le[b] for b in bounds]
    assert counts == sorted(counts), "buckets are not cumulative"
    count = sum(
        s.value
        for s in samples
        if s.name == f"{hist.metric}_count" and _matches(s.labels, matchers)
    )
    assert by_le[float("inf")] == count, "_count != the +Inf bucket"
    quantiles = _QUANTILE.findall(header)
    assert quantiles, header
    for q, lower, upper in quantiles:
        rank = float(q) / 100 * count
        i = next(i for i, c in enumerate(counts) if c >= rank)
        got = (bounds[i - 1] if i else 0.0, bounds[i])
        assert got == (_bound(lower), _bound(upper)), f"{name} p{q}: {got}"


def test_triton_errors_are_the_server_failure_reasons_not_a_cancellation() -> None:
    """core src/infer_stats.h:43: REJECTED, CANCELED, BACKEND, OTHER; CANCELED is the
    client cancelling a queued request (src/dynamic_batch_scheduler.cc:64-77)."""
    requests = PRESETS["triton"].requests
    assert requests is not None and requests.error_label == "reason"
    for reason in ("REJECTED", "BACKEND", "OTHER"):
        assert re.fullmatch(requests.error_values, reason)
    assert not re.fullmatch(requests.error_values, "CANCELED")


def test_instrumentator_errors_match_grouped_and_numeric_statuses() -> None:
    requests = PRESETS["fastapi-instrumentator"].requests
    assert requests is not None
    for status, error in (
        ("5xx", True),
        ("503", True),
        ("500", True),
        ("4xx", False),
        ("2xx", False),
        ("404", False),
    ):
        assert (re.fullmatch(requests.error_values, status) is not None) is error, status
