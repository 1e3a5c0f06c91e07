"""Load an SLO file: YAML with line numbers, the compact form, and errors that name
file, line and field path (``slos.yaml:14: slos[2].threshold: expected a duration ...``)."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from slocheck.errors import SpecError
from slocheck.slofile.bounds import (
    MAX_PROM_TIMEOUT_S,
    MAX_SCRAPE_INTERVAL_S,
    MIN_SCRAPE_INTERVAL_S,
    bound_text,
    check_header,
)
from slocheck.slofile.imported import Imported
from slocheck.slofile.kinds import COMMON_FIELDS, KINDS, compact_names, kind
from slocheck.slofile.lines import Lines, Locator, PathT, format_path
from slocheck.slofile.messages import message
from slocheck.slofile.model import (
    CostSpec,
    FaultsSpec,
    LoadSpec,
    PrefixSpec,
    PrometheusSpec,
    RegressionSpec,
    ServiceSpec,
    SloSpec,
    Spec,
    TargetSpec,
)
from slocheck.slofile.openslo import from_openslo, is_openslo
from slocheck.slofile.sloth import from_sloth, is_sloth
from slocheck.slofile.sources import preset_of, source_problem
from slocheck.slofile.traps import unit_traps

MAX_SPEC_BYTES = 1 << 20

_MODELS_AT: dict[PathT, type[BaseModel]] = {
    (): Spec,
    ("service",): ServiceSpec,
    ("service", "faults"): FaultsSpec,
    ("target",): TargetSpec,
    ("prometheus",): PrometheusSpec,
    ("load",): LoadSpec,
    ("load", "prefix"): PrefixSpec,
    ("regression",): RegressionSpec,
    ("cost",): CostSpec,
}


@dataclass(frozen=True)
class LoadedSpec:
    """A valid spec with where it came from."""

    spec: Spec
    path: str
    sha256: str
    warnings: list[str] = field(default_factory=list)
    #: what the file was written in: slocheck, openslo or sloth
    format: str = "slocheck"
    #: values that likely mean something else than meant (spec.traps), ``file:line: field: ...``
    traps: list[str] = field(default_factory=list)


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _fields_at(path: PathT) -> list[str]:
    if len(path) >= 2 and path[0] == "slos" and isinstance(path[1], int):
        return list(SloSpec.model_fields)
    model = _MODELS_AT.get(tuple(p for p in path))
    return list(model.model_fields) if model else []


def _normalise_compact(data: dict[str, Any], lines: Lines) -> None:
    """``slos: {availability: {target: 99.9%, measurement: uptime}}`` -> the list form. A file
    with no ``version`` whose ``slos`` is such a mapping (the SLO block of an observability guide,
    copied as it is) is the compact form of version 1."""
    slos = data.get("slos")
    if not isinstance(slos, Mapping):
        return
    data.setdefault("version", 1)
    out: list[Any] = []
    compact = compact_names()
    for i, (name, entry) in enumerate(slos.items()):
        where: PathT = ("slos", str(name))
        if not isinstance(entry, Mapping):
            raise lines.error(where, "expected a mapping like {target: 99.9%, measurement: uptime}")
        rest = dict(entry)
        measurement = str(rest.pop("measurement", name))
        if measurement not in compact:
            hint = _did_you_mean(measurement, list(compact))
            raise lines.error(
                (*where, "measurement"),
                f"unknown measurement {measurement!r}; expected one of {sorted(compact)}",
                hint=hint,
            )
        sli, target_means = compact[measurement].name, compact[measurement].compact_target
        item: dict[str, Any] = {"name": str(name), "sli": sli}
        if sli == "availability":
            item["measurement"] = "uptime" if measurement == "uptime" else "requests"
        if "target" in rest:
            item[target_means] = rest.pop("target")
            lines.renames[("slos", i, target_means)] = (*where, "target")
        item.update(rest)
        lines.renames[("slos", i)] = where
        out.append(item)
    data["slos"] = out


def _check_sli_fields(spec_data: list[Any], spec: Spec, lines: Locator) -> None:
    names: dict[str, int] = {}
    preset = preset_of(spec)
    for i, slo in enumerate(spec.slos):
        given = {k for k, v in slo.model_dump(exclude_unset=True).items() if v is not None}
        for req in kind(slo.sli).required:
            if req not in given:
                raise lines.error(("slos", i, req), f"required for sli {slo.sli}")
        if slo.sli == "ratio" and (slo.good is None) == (slo.bad is None):
            raise lines.error(
                ("slos", i, "bad") if slo.good is not None else ("slos", i),
                "sli ratio needs exactly one of good: or bad: (a counter), beside total:",
            )
        if "abort_delay" in given and not slo.abort_on_fail:
            raise lines.error(
                ("slos", i, "abort_delay"), "how long the load goes on once abort_on_fail fires"
            )
        if slo.abort_on_fail and (slo.measurement == "uptime" or spec.load.rate is None):
            raise lines.error(
                ("slos", i, "abort_on_fail"),
                "judges the run's error budget from the requests the load generator counts: it "
                "needs load.rate (the planned requests) and availability by requests",
            )
        if slo.abort_on_fail and slo.severity == "warning":
            raise lines.error(
                ("slos", i, "abort_on_fail"),
                "stops the load and fails the run when this SLO's budget is spent, but a "
                "warning SLO never fails the gate: drop abort_on_fail, or make it "
                "severity: critical",
            )
        if "slices_objective" in given and slo.slice is None:
            raise lines.error(
                ("slos", i, "slices_objective"), "the share of slices that must pass: give slice"
            )
        extra = given - kind(slo.sli).allowed - COMMON_FIELDS
        if extra:
            bad = sorted(extra)[0]
            raise lines.error(("slos", i, bad), f"has no meaning for sli {slo.sli}")
        problem = source_problem(slo, preset)
        if problem is not None:
            raise lines.error(("slos", i, "source"), problem)
        if slo.name in names:
            raise lines.error(
                ("slos", i, "name"),
                f"duplicate SLO name {slo.name!r} (first at slos[{names[slo.name]}])",
            )
        names[slo.name] = i


#: How a dataset (``load.prompts``) is played.
DATASET_FIELDS = ("sample", "turns", "think_time")


def _check_target(spec: Spec, lines: Locator) -> None:
    """The API's settings belong together: what each ``target.api`` needs and ignores."""
    target, load = spec.target, spec.load
    api = target.api if target else "slocheck"
    if target is not None and target.url is None and api not in ("slocheck", "openai"):
        raise lines.error(
            ("target", "url"),
            f"required for target.api {api}: the embedded reference service answers the "
            "slocheck and openai APIs only",
        )
    if api == "kserve-v2" and target is not None and not target.model:
        raise lines.error(("target", "model"), "required for target.api kserve-v2")
    bodiless = target is not None and target.method in ("GET", "DELETE")
    if (api == "kserve-v2" or (api == "http" and not bodiless)) and load.payload is None:
        raise lines.error(
            ("load", "payload"),
            f"required for target.api {api}: a JSON body, or a JSONL file of bodies",
        )
    if api != "openai":
        for name in (
            "prompts",
            "input_tokens",
            "output_tokens",
            "trace",
            "prefix",
            *DATASET_FIELDS,
        ):
            if name in load.model_fields_set:
                raise lines.error(("load", name), "only means something for target.api openai")
        for name in DATASET_FIELDS:
            if name in load.model_fields_set:
                raise lines.error(("load", name), "only means something for target.api openai")
    for name in DATASET_FIELDS:
        if name in load.model_fields_set and load.prompts is None:
            raise lines.error(
                ("load", name), "only means something with load.prompts (a dataset file)"
            )
    if "think_time" in load.model_fields_set and load.turns != "all":
        raise lines.error(
            ("load", "think_time"), "is the wait between a conversation's turns: turns: all"
        )
    if api in ("slocheck", "openai") and load.payload is not None:
        raise lines.error(("load", "payload"), "only for target.api kserve-v2 and http")
    _check_arrival(spec, lines)


def _check_arrival(spec: Spec, lines: Locator) -> None:
    """Open arrival needs a rate (or a trace); its own settings mean nothing to a closed
    loop."""
    load = spec.load
    _check_trace(load, lines)
    if load.arrival == "open" and load.rate is None and load.trace is None:
        raise lines.error(
            ("load", "arrival"), "open arrival needs load.rate (requests/s) or load.trace"
        )
    if load.arrival == "closed":
        for name in ("max_in_flight",):
            if getattr(load, name) is not None:
                raise lines.error(("load", name), "only means something for load.arrival open")
        if load.distribution != "constant":
            raise lines.error(
                ("load", "distribution"), "only means something for load.arrival open"
            )
    if "burstiness" in load.model_fields_set and load.distribution != "gamma":
        raise lines.error(
            ("load", "burstiness"), "the shape of gamma gaps: give distribution: gamma"
        )


#: What a trace decides itself: when each request is sent and how long it is.
TRACE_DECIDES = ("rate", "distribution", "burstiness", "prompts", "input_tokens", "output_tokens")


def _check_trace(load: LoadSpec, lines: Locator) -> None:
    """A trace is replayed open loop at its own times and lengths; speedup is its only knob."""
    if load.trace is None:
        if "speedup" in load.model_fields_set:
            raise lines.error(("load", "speedup"), "only means something with load.trace")
        return
    if load.arrival != "open":
        raise lines.error(
            ("load", "arrival"), "a trace is replayed open loop, at its timestamps: arrival: open"
        )
    for name in TRACE_DECIDES:
        if name in load.model_fields_set:
            raise lines.error(
                ("load", name), "the trace sets when each request is sent and its lengths"
            )


def _message(err: Mapping[str, Any]) -> str:
    return message(err)


def _documents(text: str, file: str) -> list[tuple[Any, Lines]]:
    """Every YAML document of ``text`` (an OpenSLO file is a stream of them), with its node."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        datas = list(yaml.safe_load_all(text))
        return [(d, Lines(n, file)) for d, n in zip(datas, nodes, strict=True) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise SpecError(
            f"invalid YAML: {problem}", file=file, line=mark.line + 1 if mark is not None else None
        ) from None
    except RecursionError:
        raise SpecError("the document is nested too deeply", file=file) from None
    except ValueError as e:  # e.g. an integer too long for Python to convert
        raise SpecError(f"invalid value: {str(e)[:120]}", file=file) from None


def _imported(docs: list[tuple[Any, Lines]], file: str) -> Imported | None:
    """An OpenSLO stream or a Sloth spec, mapped to slocheck's model; None for slocheck's own."""
    first = docs[0][0] if docs else None
    if is_openslo(first):
        return from_openslo(docs, file)
    if isinstance(first, dict) and is_sloth(first):
        if len(docs) > 1:
            raise docs[1][1].error((), "a Sloth spec is one YAML document")
        return from_sloth(first, docs[0][1], file)
    if len(docs) > 1:
        raise SpecError(
            "several YAML documents: only an OpenSLO stream (apiVersion: openslo/v1) has more "
            "than one",
            file=file,
            line=docs[1][1].line(()),
        )
    return None


def parse_spec(text: str, file: str = "<spec>") -> LoadedSpec:
    """Validate spec text, slocheck's own or an OpenSLO v1 or Sloth ``prometheus/v1`` document
    (told apart by their ``apiVersion`` and ``version``); raise :class:`SpecError` naming file,
    line and field."""
    if len(text.encode("utf-8", "replace")) > MAX_SPEC_BYTES:
        raise SpecError(f"the file is larger than {MAX_SPEC_BYTES} bytes", file=file)
    docs = _documents(text, file)
    imported = _imported(docs, file)
    locator: Locator
    if imported is not None:
        data, locator = imported.data, imported.locator
    else:
        raw: Any = docs[0][0] if docs else None
        lines = docs[0][1] if docs else Lines(None, file)
        if not isinstance(raw, dict):
            raise SpecError(
                "expected a mapping with version: 1 and slos: [...] at the top level",
                file=file,
                line=1,
            )
        data = raw
        _normalise_compact(data, lines)
        locator = lines
    spec = _validate(data, locator, file)
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    if imported is None:
        traps = unit_traps(data["slos"], spec, lines) if isinstance(lines, Lines) else []
        return LoadedSpec(spec=spec, path=file, sha256=digest, traps=traps)
    return LoadedSpec(spec, file, digest, list(imported.notes), imported.format)


def _validate(data: dict[str, Any], lines: Locator, file: str) -> Spec:
    try:
        spec = Spec.model_validate(data)
    except UnicodeError:
        raise SpecError(
            "the file holds text that is not valid Unicode (an escaped lone "
            "surrogate such as \\ud800?)",
            file=file,
        ) from None
    except ValidationError as e:
        errors = e.errors()
        first = errors[0]
        path: PathT = tuple(first["loc"])
        hint = None
        if first["type"] == "extra_forbidden" and isinstance(path[-1], str):
            hint = _did_you_mean(path[-1], _fields_at(path[:-1]))
        if (
            len(path) >= 3
            and path[0] == "slos"
            and path[2] in SloSpec.model_fields
            and (first["type"] == "literal_error" and path[2] == "sli")
        ):
            hint = _did_you_mean(str(first.get("input")), list(KINDS))
        error = lines.error(path, _message(first), hint=hint)
        if len(errors) > 1:
            rest = "; ".join(
                f"{format_path(lines.written(tuple(x['loc'])))}: {_message(x)}" for x in errors[1:4]
            )
            more = f" (and {len(errors) - 4} more)" if len(errors) > 4 else ""
            error.hint = (error.hint + "\n  " if error.hint else "") + f"also: {rest}{more}"
        raise error from None
    _check_sli_fields(data["slos"], spec, lines)
    _check_target(spec, lines)
    _check_prometheus(spec, lines)
    return spec


def _check_prometheus(spec: Spec, lines: Locator) -> None:
    """Bounds of the Prometheus settings (docs/slo-spec.md, "Bounds") and headers that are
    headers: a line break in one would split the request."""
    prom = spec.prometheus
    bounds = (
        ("timeout", prom.timeout, 0.0, MAX_PROM_TIMEOUT_S, "10s"),
        (
            "scrape_interval",
            prom.scrape_interval,
            MIN_SCRAPE_INTERVAL_S,
            MAX_SCRAPE_INTERVAL_S,
            "15s",
        ),
    )
    for name, value, low, high, example in bounds:
        if not (low < value if low == 0 else low <= value) or value > high:
            start = "above 0s" if low == 0 else f"from {bound_text(low)}"
            raise lines.error(
                ("prometheus", name),
                f"expected a duration {start} to {bound_text(high)}, e.g. {example}, "
                f"got {bound_text(value)}",
            )
    for header, text in prom.headers.items():
        try:
            check_header(header, text)
        except ValueError as e:
            raise lines.error(("prometheus", "headers"), str(e)) from None


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate an SLO file."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)  # never more: --slo /dev/zero must not hang
    except OSError as e:
        raise SpecError(f"cannot read the SLO file: {e.strerror or e}", file=str(p)) from None
    except ValueError as e:  # a NUL byte in the path
        raise SpecError(f"not a usable path: {e}", file=repr(str(p))) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"the file is larger than {MAX_SPEC_BYTES} bytes", file=str(p))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"not UTF-8 text (byte {e.start})", file=str(p)) from None
    return parse_spec(text, str(p))
