"""prometheus.preset, source: and target.api in the spec: what is accepted, what is refused
with the file, line and field."""

from __future__ import annotations

import pytest

from slocheck.errors import SpecError
from slocheck.slofile import parse_spec
from slocheck.slofile.presets import PRESETS, Counter, Preset
from slocheck.slofile.sources import preset_of, source_of

NO_LATENCY = Preset(
    name="no-latency",
    description="a server with a request counter and no latency histogram",
    sources=(),
    route_label=None,
    requests=Counter("x_total", "code", "5.."),
    latency=None,
)


A = "slos: [{name: a, sli: availability, objective: 99%}]\n"
U = "{name: u, sli: availability, objective: 99%, measurement: uptime, source: client}"
K = "target: {url: 'http://127.0.0.1:1', api: kserve-v2"


def spec(body: str) -> str:
    return "version: 1\n" + body


def test_default_source_is_the_server_where_the_preset_has_the_metric() -> None:
    loaded = parse_spec(
        spec(
            "prometheus: {preset: slocheck}\n"
            "slos:\n"
            "  - {name: a, sli: availability, objective: 99%}\n"
            "  - {name: t, sli: ttft, threshold: 1s, percentile: 95, source: both}\n"
        )
    )
    preset = preset_of(loaded.spec)
    assert [source_of(s, preset) for s in loaded.spec.slos] == ["server", "both"]
    lat = loaded.spec.slos[0].model_copy(update={"sli": "latency"})
    assert source_of(lat, NO_LATENCY) == "client"
    assert source_of(lat.model_copy(update={"metric": "my_seconds"}), NO_LATENCY) == "server"


def _error(text: str) -> SpecError:
    with pytest.raises(SpecError) as e:
        parse_spec(text, "s.yaml")
    return e.value


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            spec("prometheus: {preset: vlm}\n" + A),
            "prometheus.preset",
            "expected one of slocheck, vllm",
        ),
        (
            spec(
                "slos: [{name: a, sli: ratio, objective: 99%, total: x, good: y, source: client}]\n"
            ),
            "slos[0].source",
            "has no meaning for sli ratio",
        ),
        (
            spec(f"slos:\n  - {U}\n"),
            "slos[0].source",
            "uptime is measured by Prometheus",
        ),
        (
            spec(K + "}\nload: {payload: b.json}\n" + A),
            "target.model",
            "required for target.api kserve-v2",
        ),
        (
            spec(K + ", model: m}\n" + A),
            "load.payload",
            "required for target.api kserve-v2",
        ),
        (
            spec("target: {api: kserve-v2, model: m}\nload: {payload: b.json}\n" + A),
            "target.url",
            "embedded reference service answers the slocheck and openai APIs only",
        ),
        (
            spec("load: {prompts: p.jsonl}\n" + A),
            "load.prompts",
            "only means something for target.api openai",
        ),
        (
            spec("target: {url: 'http://127.0.0.1:1', api: openai, model: 'bad model!'}\n" + A),
            "target.model",
            "expected a model name",
        ),
    ],
)
def test_refused(text: str, where: str, message: str) -> None:
    e = _error(text)
    assert where in str(e) and message in str(e), str(e)


def test_a_preset_without_the_metric_refuses_source_server() -> None:
    # llama.cpp has no latency histogram; triton none by default: the fixture presets decide,
    # so build the case from whichever preset has no latency histogram
    lacking = [p for p in PRESETS.values() if p.latency is None]
    if not lacking:
        pytest.skip("every preset has a latency histogram")
    name = lacking[0].name
    e = _error(
        spec(
            f"prometheus: {{preset: {name}}}\n"
            "slos: [{name: l, sli: latency, threshold: 1s, percentile: 95, source: server}]\n"
        )
    )
    assert "slos[0].source" in str(e) and f"the {name} preset has no latency histogram" in str(e)


def test_openai_spec_with_synthetic_prompts() -> None:
    loaded = parse_spec(
        spec(
            "target: {url: 'http://127.0.0.1:8000', api: openai, model: meta-llama/Llama-3-8B}\n"
            "prometheus: {preset: vllm}\n"
            "load: {input_tokens: {mean: 128, stddev: 32}, output_tokens: {mean: 64}}\n"
            "slos: [{name: t, sli: ttft, threshold: 500ms, percentile: 95}]\n"
        )
    )
    s = loaded.spec
    assert s.target is not None and s.target.api == "openai" and s.target.stream
    assert s.load.input_tokens is not None and s.load.input_tokens.stddev == 32
    assert s.load.output_tokens is not None and s.load.output_tokens.stddev == 0
