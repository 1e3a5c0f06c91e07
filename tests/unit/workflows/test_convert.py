"""``slocheck convert --to openslo``: the OpenSLO stream reads back as the same objectives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slocheck.cli import main
from slocheck.slofile import LoadedSpec, load_spec, parse_spec
from slocheck.workflows.convert import to_openslo

EXAMPLES = Path(__file__).parents[3] / "examples"
FIELDS = (
    "name",
    "sli",
    "objective",
    "threshold",
    "percentile",
    "severity",
    "metric",
    "good",
    "bad",
    "total",
    "on_no_data",
    "min_samples",
    "interpolate",
    "description",
)


def same_objectives(a: LoadedSpec, b: LoadedSpec) -> None:
    assert [[getattr(s, f) for f in FIELDS] for s in b.spec.slos] == [
        [getattr(s, f) for f in FIELDS] for s in a.spec.slos
    ]
    assert b.spec.prometheus.selector.replace(" ", "") == a.spec.prometheus.selector.replace(
        " ", ""
    )
    assert (b.spec.service.name, b.spec.period, b.spec.load) == (
        a.spec.service.name,
        a.spec.period,
        a.spec.load,
    )


@pytest.mark.parametrize("example", ["slos.yaml", "openslo/slos.yaml", "sloth/slos.yaml"])
def test_round_trip_keeps_the_objectives(example: str) -> None:
    original = load_spec(EXAMPLES / example)
    converted = to_openslo(original)
    assert converted.notes == []
    docs = list(yaml.safe_load_all(converted.text))
    assert [d["kind"] for d in docs] == ["Service"] + ["SLO"] * len(original.spec.slos)
    assert all(d["apiVersion"] == "openslo/v1" for d in docs)
    back = parse_spec(converted.text, "converted.yaml")
    assert back.format == "openslo"
    same_objectives(original, back)


def test_what_openslo_cannot_hold_is_left_out_and_said() -> None:
    loaded = parse_spec(
        """\
version: 1
service: {name: demo, faults: {error_rate: 1%}}
prometheus: {selector: 'job="x"'}
load: {users: 4, duration: 1m}
slos:
  - {name: up, sli: availability, measurement: uptime, objective: 99%}
  - {name: client, sli: latency, percentile: 95, threshold: 1s, source: client}
  - {name: ms, sli: latency, percentile: 95, threshold: 1s, unit: ms}
  - {name: eq, sli: promql, query: 'max(x)', op: '==', threshold: 1}
  - {name: custom, sli: ratio, bad: 'e_total{code="500"}', total: t_total, objective: 99%,
     min_samples: 50, on_no_data: warn}
  - {name: q, sli: promql, query: 'sum(rate(x[$window]))', op: '<', threshold: 3}
""",
        "in.yaml",
    )
    converted = to_openslo(loaded)
    assert [n.split(":")[0] for n in converted.notes] == ["up", "client", "ms", "eq"]
    assert all(f"# {n}" in converted.text for n in converted.notes)
    back = parse_spec(converted.text).spec
    assert back.service.faults.error_rate == 0.01 and back.load.users == 4
    assert back.load.duration == 60
    custom, q = back.slos
    assert (custom.sli, custom.bad, custom.total, custom.min_samples, custom.on_no_data) == (
        "ratio",
        'e_total{code="500"}',
        "t_total",
        50,
        "warn",
    )
    assert back.prometheus.selector == 'job="x"'
    assert (q.sli, q.query) == ("promql", "sum(rate(x[5m]))")  # OpenSLO has no window


def test_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "openslo.yaml"
    assert (
        main(
            ["convert", "--slo", str(EXAMPLES / "slos.yaml"), "--to", "openslo", "--out", str(out)]
        )
        == 0
    )
    assert parse_spec(out.read_text()).format == "openslo"
    assert main(["convert", "--slo", str(EXAMPLES / "sloth/slos.yaml"), "--to", "openslo"]) == 0
    assert "kind: SLO" in capsys.readouterr().out
    assert main(["convert", "--slo", str(EXAMPLES / "slos.yaml"), "--to", "sloth"]) == 2


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://user:S3CRETPASS@prom:9090", "http://prom:9090"),
        ("https://token@prom/api", "https://prom/api"),
        ("http://prom:9090", "http://prom:9090"),
    ],
)
def test_convert_drops_credentials(url: str, kept: str) -> None:
    """The spec refuses a URL with credentials; convert would drop them all the same."""
    from slocheck.slofile.model import PrometheusSpec, Spec, TargetSpec

    loaded = parse_spec("version: 1\nslos: [{name: a, sli: availability, objective: 99%}]\n")
    spec = Spec.model_construct(
        **{
            **dict(loaded.spec),
            "prometheus": PrometheusSpec.model_construct(**{**dict(PrometheusSpec()), "url": url}),
            "target": TargetSpec.model_construct(**{**dict(TargetSpec()), "url": url}),
        }
    )
    text = to_openslo(LoadedSpec(spec, "slos.yaml", "0" * 64)).text
    assert "S3CRETPASS" not in text and "token@" not in text
    assert text.count(kept) == 2, text
