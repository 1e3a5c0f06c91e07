"""Each preset's queries over its recorded ``/metrics`` sample, in a real Prometheus.

Every fixture under ``tests/fixtures/metrics/`` is backfilled (promtool) as a server that
started at 0 and grew linearly to the sample's values over ten minutes, under ``job=<preset>``.
The verdicts expected come from the fixture's own ``# slocheck-fixture:`` header (its totals and
the buckets its quantiles lie in, written down when the sample was made), not from slocheck:
availability and latency must pass just inside those numbers and fail just outside them.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from slocheck.evaluate import Window
from slocheck.evaluate.intervals import wilson_interval
from slocheck.evaluate.plan import plan, render
from slocheck.prom import HttpPromClient, ManagedPrometheus, backfill
from slocheck.slofile import parse_spec
from slocheck.slofile.presets import PRESETS
from slocheck.slofile.sources import server_has
from slocheck.workflows.verify import verify

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"
STEP, STEPS = 15, 40  # ten minutes
HEADER = re.compile(r"^# slocheck-fixture:(.*)$", re.MULTILINE)
BOUNDS = re.compile(r"^\(([^,]+),([^\]]+)\]$")
COUNTING = ("counter", "histogram", "summary")


def fixture_path(preset: str) -> Path:
    return FIXTURES / f"{preset}.prom"


def header(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in HEADER.findall(text):
        for item in line.split():
            key, _, value = item.partition("=")
            if value:
                out[key] = value
    return out


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(text: str, job: str, start: float) -> str:
    """The sample as a series that grew from 0 at ``start`` to its values ten minutes later
    (counters and histograms; gauges keep their value). No TYPE lines: the names stay exactly
    as the server writes them (TGI's counters have no _total)."""
    lines: list[str] = []
    for family in text_string_to_metric_families(text):
        grows = family.type in COUNTING
        for s in family.samples:
            if s.name.endswith("_created"):
                continue
            labels = {**s.labels, "job": job}
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            # the parser adds _total to counters; keep the name as written on the wire
            name = s.name
            if family.type == "counter" and not re.search(
                rf"^{re.escape(name)}[{{ ]", text, re.MULTILINE
            ):
                name = name.removesuffix("_total")
            for k in range(STEPS + 1):
                value = s.value * k / STEPS if grows else s.value
                lines.append(f"{name}{{{inner}}} {value!r} {start + k * STEP:.3f}")
    return "\n".join(lines) + "\n# EOF\n"


PRESETS_WITH_FIXTURES = sorted(p for p in PRESETS if fixture_path(p).exists())


@pytest.fixture(scope="module")
def window() -> Window:
    start = math.floor(time.time()) - 3 * 3600
    return Window(float(start), float(start + STEPS * STEP))


@pytest.fixture(scope="module")
def prom(window: Window, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedPrometheus]:
    storage = tmp_path_factory.mktemp("tsdb")
    text = "".join(
        openmetrics(fixture_path(p).read_text(), p, window.start).removesuffix("# EOF\n")
        for p in PRESETS_WITH_FIXTURES
    )
    backfill(text + "# EOF\n", storage)
    with ManagedPrometheus(storage_path=storage) as p:
        yield p


def _objectives(requests: int, errors: int) -> tuple[float, float]:
    """An availability objective the sample meets for sure, and one it misses for sure."""
    lo, hi = wilson_interval(requests - errors, requests)
    return max(0.0, lo - 0.002), min(0.9999, hi + 0.002)


def _slos(name: str, facts: dict[str, str]) -> tuple[str, dict[str, str]]:
    preset = PRESETS[name]
    slos: list[str] = []
    expected: dict[str, str] = {}
    if preset.requests is not None and "requests" in facts:
        n, e = int(facts["requests"]), int(facts["errors"])
        ok, missed = _objectives(n, e)
        slos += [
            f"  - {{name: avail-pass, sli: availability, objective: {ok!r}}}",
            f"  - {{name: avail-fail, sli: availability, objective: {missed!r}}}",
        ]
        expected |= {"avail-pass": "pass", "avail-fail": "fail" if e else "pass"}
    for sli, key in (("latency", "latency"), ("ttft", "ttft"), ("inter_token_latency", "itl")):
        bounds = facts.get(f"{key}_p95")
        histogram = getattr(preset, sli)
        if histogram is None or bounds is None:
            continue
        m = BOUNDS.match(bounds)
        assert m, bounds
        lower, upper = (float(x) for x in m.groups())
        # the header's bounds are rounded (TGI's exponential buckets): step just outside them
        upper, lower = upper * 1.001, lower * 0.999
        few = ", min_samples: 1"
        slos.append(
            f"  - {{name: {key}-pass, sli: {sli}, percentile: 95, threshold: {upper!r}s{few}}}"
        )
        expected[f"{key}-pass"] = "pass"
        if lower > 0:
            slos.append(
                f"  - {{name: {key}-fail, sli: {sli}, percentile: 95, threshold: {lower!r}s{few}}}"
            )
            expected[f"{key}-fail"] = "fail"
    if preset.output_tokens is not None and "output_tokens" in facts:
        rate = int(facts["output_tokens"]) / (STEPS * STEP)
        slos += [
            f"  - {{name: tokens-pass, sli: token_throughput, threshold: {rate * 0.99!r}}}",
            f"  - {{name: tokens-fail, sli: token_throughput, threshold: {rate * 1.01!r}}}",
        ]
        expected |= {"tokens-pass": "pass", "tokens-fail": "fail"}
    spec = (
        f"version: 1\nprometheus: {{preset: {name}, selector: 'job=\"{name}\"'}}\nslos:\n"
        + "\n".join(slos)
        + "\n"
    )
    return spec, expected


@pytest.mark.parametrize("name", PRESETS_WITH_FIXTURES)
def test_preset_verdicts_over_its_sample(
    name: str, prom: ManagedPrometheus, window: Window
) -> None:
    facts = header(fixture_path(name).read_text())
    spec_text, expected = _slos(name, facts)
    if not expected:
        pytest.skip(f"the {name} preset's sample states no totals the server side can judge")
    loaded = parse_spec(spec_text, f"{name}.yaml")
    result = verify(loaded, HttpPromClient(prom.url), window)
    got = {r.name: r.verdict for r in result.results}
    assert got == expected, "\n".join(f"{r.name}: {r.explanation}" for r in result.results)
    by_name = {r.name: r for r in result.results}
    if "avail-pass" in by_name:
        r = by_name["avail-pass"]
        assert r.samples == int(facts["requests"])
        assert r.details["errors"] == int(facts["errors"])


@pytest.mark.parametrize("name", PRESETS_WITH_FIXTURES)
def test_the_promql_shown_gives_the_same_availability(
    name: str, prom: ManagedPrometheus, window: Window
) -> None:
    """The PromQL a report shows (and a user pastes into Grafana) reads the same series."""
    facts = header(fixture_path(name).read_text())
    preset = PRESETS[name]
    if preset.requests is None or "requests" not in facts:
        pytest.skip(f"{name} has no request counter")
    spec = parse_spec(
        f"version: 1\nprometheus: {{preset: {name}, selector: 'job=\"{name}\"'}}\n"
        "slos: [{name: a, sli: availability, objective: 99%}]\n"
    ).spec
    slo = spec.slos[0]
    assert server_has(slo, preset)
    query = render(plan(slo, spec.prometheus.selector, preset).promql, window.seconds)
    values = HttpPromClient(prom.url).instant(query, window.end)
    n, e = int(facts["requests"]), int(facts["errors"])
    assert len(values) == 1 and values[0] == pytest.approx(1 - e / n, abs=1e-6), query
