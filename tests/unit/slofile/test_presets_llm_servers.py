"""The vllm, tgi, otel-http, otel-http-legacy and llamacpp presets against their recorded
``/metrics`` samples.

Why: a preset is only right if the series it names exist in what the server writes, with the
type the verifier assumes, and if its error rule counts the failures the sample says happened.
Each fixture's ``# slocheck-fixture:`` header states the totals it was composed with; these tests
recompute them from the exposition through the preset, so a wrong name, label, error rule or an
inconsistent fixture fails here before the Prometheus backfill tests run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from slocheck.promql import Selector
from slocheck.slofile.model import UNIT_SECONDS
from slocheck.slofile.presets import PRESETS, Histogram, Preset

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "metrics"
CASES = [
    ("vllm", "vllm.prom"),
    ("tgi", "tgi.prom"),
    ("otel-http", "otel-http.prom"),
    ("otel-http-legacy", "otel-http-legacy.prom"),
]

_SAMPLE_NAME = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]")
_BOUNDS = re.compile(r"^\(([^,]+),([^\]]+)\]$")


@dataclass(frozen=True)
class Sample:
    name: str  # as exposed on the wire (the parser adds _total to counters that lack it)
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Exposition:
    types: dict[str, str]  # exposed family name in '# TYPE' -> type
    family_of: dict[str, str]  # exposed sample name -> family type
    samples: list[Sample]
    header: dict[str, str]


def load(filename: str) -> Exposition:
    text = (FIXTURES / filename).read_text()
    header: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# slocheck-fixture:"):
            for item in line.split(":", 1)[1].split():
                key, value = item.split("=", 1)
                header[key] = value
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M))
    wire_names = {m.group(1) for m in map(_SAMPLE_NAME.match, text.splitlines()) if m}
    samples: list[Sample] = []
    family_of: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            name = s.name
            if name not in wire_names and name.endswith("_total") and name[:-6] in wire_names:
                name = name[:-6]
            assert name in wire_names, f"{filename}: parsed sample {s.name} not on the wire"
            samples.append(Sample(name, dict(s.labels), float(s.value)))
            family_of[name] = family.type
    return Exposition(types, family_of, samples, header)


def select(expo: Exposition, selector: str) -> list[Sample]:
    sel = Selector.parse(selector)
    return [s for s in expo.samples if sel.accepts(dict(s.labels, __name__=s.name))]


def bucket_of(expo: Exposition, hist: Histogram, q: float) -> tuple[float, float]:
    """The (lower, upper] bucket that holds quantile q of all series of hist, summed by le."""
    by_le: dict[float, float] = {}
    for s in select(expo, f"{hist.metric}_bucket{{{hist.matchers}}}"):
        le = math.inf if s.labels["le"] == "+Inf" else float(s.labels["le"])
        by_le[le] = by_le.get(le, 0.0) + s.value
    bounds = sorted(by_le)
    rank = q * by_le[math.inf]
    lower = 0.0
    for le in bounds:
        if by_le[le] >= rank:
            return lower, le
        lower = le
    raise AssertionError("no bucket reaches the rank")


def header_bounds(value: str) -> tuple[float, float]:
    m = _BOUNDS.match(value)
    assert m, value
    return float(m.group(1)), float(m.group(2))


def histograms(preset: Preset) -> dict[str, Histogram]:
    named = {"latency": preset.latency, "ttft": preset.ttft, "itl": preset.inter_token_latency}
    return {key: h for key, h in named.items() if h is not None}


def check_histogram(expo: Exposition, hist: Histogram) -> None:
    assert expo.types.get(hist.metric) == "histogram", f"no '# TYPE {hist.metric} histogram'"
    buckets = select(expo, f"{hist.metric}_bucket{{{hist.matchers}}}")
    assert buckets and all("le" in s.labels for s in buckets)
    series: dict[tuple[tuple[str, str], ...], list[Sample]] = {}
    for s in buckets:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, []).append(s)
    counts = {
        tuple(sorted(s.labels.items())): s.value for s in select(expo, f"{hist.metric}_count")
    }
    for key, group in series.items():
        ordered = sorted(
            group, key=lambda s: math.inf if s.labels["le"] == "+Inf" else float(s.labels["le"])
        )
        values = [s.value for s in ordered]
        assert values == sorted(values), f"{hist.metric}{dict(key)}: buckets not cumulative"
        assert ordered[-1].labels["le"] == "+Inf"
        assert counts[key] == values[-1], f"{hist.metric}{dict(key)}: _count != +Inf bucket"


@pytest.mark.parametrize(("preset_name", "fixture"), CASES)
def test_every_series_the_preset_names_is_in_the_fixture_with_its_type(
    preset_name: str, fixture: str
) -> None:
    preset, expo = PRESETS[preset_name], load(fixture)
    assert preset.requests is not None
    request_samples = select(expo, preset.requests.series)
    assert request_samples, f"{preset.requests.series} selects nothing"
    for s in request_samples:
        kind = expo.family_of[s.name]
        assert kind == "counter" or (kind == "histogram" and s.name.endswith("_count")), s.name
    for hist in histograms(preset).values():
        check_histogram(expo, hist)
    for counter in (preset.output_tokens, preset.input_tokens):
        if counter is not None:
            samples = select(expo, counter)
            assert samples, counter
            kind = expo.family_of[samples[0].name]
            assert kind == "counter" or (kind == "histogram" and counter.endswith("_sum"))
    for gauge in (preset.queue, preset.running):
        if gauge is not None:
            assert expo.types.get(gauge) == "gauge", f"no '# TYPE {gauge} gauge'"
    if preset.route_label is not None:
        assert all(preset.route_label in s.labels for s in request_samples)


@pytest.mark.parametrize(("preset_name", "fixture"), CASES)
def test_error_rule_and_totals_match_the_fixture_header(preset_name: str, fixture: str) -> None:
    preset, expo = PRESETS[preset_name], load(fixture)
    rule = preset.requests
    assert rule is not None
    samples = select(expo, rule.series)
    labelled = [
        s for s in samples if rule.error_label == "__name__" or rule.error_label in s.labels
    ]
    assert labelled, f"no request series carries {rule.error_label}"

    def is_error(s: Sample) -> bool:
        value = s.name if rule.error_label == "__name__" else s.labels.get(rule.error_label, "")
        return re.fullmatch(rule.error_values, value) is not None

    # more failures of requests counted as answered well (vLLM's engine errors after a 200)
    also = sum(s.value for s in select(expo, rule.also_errors)) if rule.also_errors else 0.0
    assert sum(s.value for s in samples) == int(expo.header["requests"])
    assert sum(s.value for s in samples if is_error(s)) + also == int(expo.header["errors"])
    for key, name in (
        ("output_tokens", preset.output_tokens),
        ("input_tokens", preset.input_tokens),
    ):
        if key in expo.header:
            assert name is not None
            assert sum(s.value for s in select(expo, name)) == int(expo.header[key])
    for key, name in (("queue", preset.queue), ("running", preset.running)):
        if key in expo.header:
            assert name is not None
            assert sum(s.value for s in select(expo, name)) == float(expo.header[key])


@pytest.mark.parametrize(("preset_name", "fixture"), CASES)
def test_quantiles_lie_in_the_buckets_the_header_names(preset_name: str, fixture: str) -> None:
    preset, expo = PRESETS[preset_name], load(fixture)
    checked = 0
    for key, hist in histograms(preset).items():
        count_key = f"{key}_count"
        if count_key in expo.header:
            total = sum(s.value for s in select(expo, f"{hist.metric}_count{{{hist.matchers}}}"))
            assert total == int(expo.header[count_key])
        for q in (50, 95, 99):
            stated = expo.header.get(f"{key}_p{q}")
            if stated is None:
                continue
            lower, upper = (b * UNIT_SECONDS[hist.unit] for b in bucket_of(expo, hist, q / 100))
            want_lower, want_upper = header_bounds(stated)
            assert math.isclose(lower, want_lower, rel_tol=1e-3), (key, q, lower, upper)
            assert math.isclose(upper, want_upper, rel_tol=1e-3), (key, q, lower, upper)
            checked += 1
    assert checked >= 3  # every fixture states at least P50/P95/P99 of its latency


def test_tgi_request_count_double_counts_openai_requests_so_the_preset_avoids_it() -> None:
    expo = load("tgi.prom")
    assert expo.types["tgi_request_count"] == "counter"
    count = sum(s.value for s in select(expo, "tgi_request_count"))
    assert count == 2 * int(expo.header["requests"])
    assert PRESETS["tgi"].requests is not None
    assert "tgi_request_count" not in PRESETS["tgi"].requests.series


def test_checker_rejects_a_fixture_whose_buckets_are_not_cumulative(tmp_path: Path) -> None:
    """The histogram check can fail: a broken copy of a fixture is refused."""
    broken = (FIXTURES / "otel-http.prom").read_text().replace("} 300.0\n", "} 30.0\n", 1)
    (tmp_path / "broken.prom").write_text(broken)
    expo = load(str(tmp_path / "broken.prom"))
    with pytest.raises(AssertionError, match="not cumulative"):
        check_histogram(expo, Histogram("http_server_request_duration_seconds"))


def test_llamacpp_has_no_request_counter_nor_latency_histogram() -> None:
    preset = PRESETS["llamacpp"]
    assert preset.requests is None and preset.latency is None
    assert preset.ttft is None and preset.inter_token_latency is None
    names = (preset.output_tokens, preset.input_tokens, preset.queue, preset.running)
    assert all(n is not None and n.startswith("llamacpp:") for n in names)


def test_llamacpp_names_are_in_the_recorded_llama_server_sample() -> None:
    path = FIXTURES / "llamacpp.prom"
    if not path.exists():
        pytest.skip("tests/fixtures/metrics/llamacpp.prom (recorded from llama-server) not here")
    expo = load("llamacpp.prom")
    preset = PRESETS["llamacpp"]
    for counter in (preset.output_tokens, preset.input_tokens):
        assert counter is not None and expo.types.get(counter) == "counter", counter
    for gauge in (preset.queue, preset.running):
        assert gauge is not None and expo.types.get(gauge) == "gauge", gauge


def test_vllm_streamed_failures_are_counted_2xx_and_only_the_engine_knows() -> None:
    """vLLM's HTTP counter fixes the status at http.response.start: the 12 streams that failed
    after their 200 are 2xx; vllm:request_success_total{finished_reason="error"} counts them."""
    expo = load("vllm.prom")
    statuses = {s.labels["status"] for s in select(expo, "http_requests_total")}
    assert statuses == {"2xx"}
    rule = PRESETS["vllm"].requests
    assert rule is not None and rule.also_errors is not None
    assert sum(s.value for s in select(expo, rule.also_errors)) == 12


def test_vllm_inter_token_latency_falls_back_to_the_name_before_0_10_2() -> None:
    itl = PRESETS["vllm"].inter_token_latency
    assert itl is not None and itl.metric == "vllm:inter_token_latency_seconds"
    assert itl.fallback == "vllm:time_per_output_token_seconds"


def test_tgi_inter_token_latency_is_judged_from_the_client() -> None:
    """tgi_request_mean_time_per_token_duration is inference time / tokens per request
    (router/src/server.rs:366-367), prefill included: not the gap between tokens."""
    expo = load("tgi.prom")
    assert expo.types["tgi_request_mean_time_per_token_duration"] == "histogram"
    assert PRESETS["tgi"].inter_token_latency is None
    rule = PRESETS["tgi"].requests
    assert rule is not None
    assert re.fullmatch(rule.error_values, "overloaded")  # answered 429
    assert not re.fullmatch(rule.error_values, "validation")


def test_otel_legacy_is_what_python_emits_by_default() -> None:
    """Recorded: http_server_duration_milliseconds with http_status_code and http_target."""
    expo = load("otel-http-legacy.prom")
    assert expo.types["http_server_duration_milliseconds"] == "histogram"
    assert "http_server_request_duration_seconds" not in expo.types
    legacy = PRESETS["otel-http-legacy"]
    assert legacy.latency is not None and legacy.latency.unit == "ms"
    assert legacy.route_label == "http_target"
