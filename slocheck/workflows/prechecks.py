"""Checks before the load (``run``, ``bench``, ``capacity`` and ``validate --probe``): what would
otherwise be found only after Prometheus and the service started, or after the whole load.

* every file the spec names exists (``load.scenario`` when it is a locustfile, ``load.payload``,
  ``load.prompts``), resolved against the spec's folder (exit 2, the resolved path named);
* the Prometheus URL answers Prometheus' API (exit 3 at once: a closed port, a 404 "this is not
  a Prometheus");
* each SLO's metric exists on the target's ``/metrics`` or in your Prometheus, where that can be
  known before the load (a warning naming the close matches otherwise: the SLO would end in
  "no series matched" after the whole load).

The rules of ``run --with-rules`` are checked by the managed Prometheus itself
(:meth:`slocheck.prom.managed.ManagedPrometheus.start`: loaded, every group listed, before the
load)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from slocheck.errors import UsageError
from slocheck.evaluate.plan import plan
from slocheck.load.config import BUILTIN_SCENARIOS
from slocheck.prom.client import HttpPromClient, redact_url
from slocheck.promql import METRIC_NAME, Selector, SelectorError
from slocheck.results.load_settings import resolved, spec_base
from slocheck.slofile import LoadedSpec
from slocheck.slofile.model import Spec, TargetSpec
from slocheck.slofile.sources import named_preset, preset_of, source_of

#: Series Prometheus makes itself (never on a target's /metrics).
SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_NAME = re.compile(METRIC_NAME)
#: The samples a ``# TYPE name kind`` line announces (a labelled metric with no sample yet).
_SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")


def check_files(loaded: LoadedSpec, scenario: str | None = None) -> None:
    """Raise UsageError (exit 2) for a file the spec names that does not exist; ``scenario``:
    the command line's ``--scenario`` (relative to the current folder)."""
    base = spec_base(loaded)
    load = loaded.spec.load
    where = (
        f"resolved against the spec's folder {base.absolute()}"
        if base is not None
        else "resolved against the current folder"
    )
    named: list[tuple[str, str, str]] = []
    if scenario is not None:
        if scenario not in BUILTIN_SCENARIOS:
            named.append(("--scenario", scenario, "resolved against the current folder"))
    elif load.scenario not in BUILTIN_SCENARIOS:
        named.append(("load.scenario", load.scenario, where))
    for field in ("payload", "prompts"):
        value = getattr(load, field)
        if value is not None:
            named.append((f"load.{field}", value, where))
    for field, value, how in named:
        path = resolved(value, base) if field != "--scenario" else Path(value).expanduser()
        if "scenario" in field and (path.suffix != ".py" or not path.is_file()):
            raise UsageError(
                f"{field}: {value!r} is neither a built-in scenario "
                f"({', '.join(BUILTIN_SCENARIOS)}) nor a locustfile (.py) that exists "
                f"({how}: {path})"
            )
        if "scenario" in field:
            check_locustfile_path(field, path)
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a file"
            raise UsageError(
                f"{field}: {value!r} {what} ({how}: {path})",
                hint="give a path relative to the spec's file, or an absolute one",
            )


def check_locustfile_path(field: str, path: Path) -> None:
    """Raise UsageError for a path given to Locust, as it is given (relative or not), that
    holds a comma: Locust takes its locustfiles as one comma-separated list (``-f a.py,b.py``)
    and splits it before it resolves each path, so such a path splits in two."""
    if "," in str(path):
        raise UsageError(
            f"{field}: {str(path)!r} holds a comma, and Locust takes its locustfiles as one "
            "comma-separated list, so it cannot be one of them",
            hint="rename or move it to a path without a comma",
        )


def check_prometheus(client: HttpPromClient) -> None:
    """Raise PrometheusError (exit 3) unless the URL answers Prometheus' API."""
    client.check_api()


def slo_metrics(spec: Spec) -> dict[str, list[str]]:
    """Per SLO the server has to judge, the metric names that it reads (any one of them is
    enough: a histogram's older name, a counter of successes or failures)."""
    preset = preset_of(spec)
    explicit = named_preset(spec)
    out: dict[str, list[str]] = {}
    for slo in spec.slos:
        if source_of(slo, preset, "closed") == "client":
            continue
        p = plan(slo, "", explicit)
        names = [n for sel in (p.fetch, p.fallback_fetch) if sel for n in names_in(sel)]
        names = [n for n in names if n not in SYNTHETIC]
        if names:
            out[slo.name] = names
    return out


def names_in(selector: str) -> list[str]:
    """The metric names of a series selector: ``name{...}`` or ``{__name__=~"a|b", ...}``."""
    try:
        return Selector.parse(selector).names()
    except SelectorError:
        return []


def exposed_names(text: str) -> set[str]:
    """The metric names a ``/metrics`` page shows: its samples' names, and the samples each
    ``# TYPE`` line announces (a labelled counter has none until its first request)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 3:
                names.update(parts[2] + s for s in _SUFFIXES)
        elif line and not line.startswith("#"):
            m = _NAME.match(line)
            if m:
                names.add(m.group(0))
    return names


def target_names(metrics_url: str, timeout: float = 10.0) -> set[str] | None:
    """The names on the target's ``/metrics``; None when it does not answer them."""
    try:
        r = httpx.get(metrics_url, timeout=timeout)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return exposed_names(r.text)


def missing_metrics(spec: Spec, names: Iterable[str], where: str) -> list[str]:
    """A warning per SLO whose metric is not among ``names`` (seen at ``where``), with the
    close matches."""
    known = set(names)
    warnings = []
    for slo, wanted in slo_metrics(spec).items():
        if any(n in known for n in wanted):
            continue
        close = difflib.get_close_matches(wanted[0], sorted(known), n=3, cutoff=0.6)
        matches = f"close matches: {', '.join(close)}" if close else "no close match"
        warnings.append(
            f"SLO {slo}: no metric {' or '.join(wanted)} on {where} ({matches}); it would end "
            "in 'no series matched' (check its metric:, or prometheus.preset)"
        )
    return warnings


def metric_warnings(
    loaded: LoadedSpec, metrics_url: str | None, client: HttpPromClient | None
) -> list[str]:
    """The SLOs whose metric is missing where it can be known before the load: on the
    target's ``/metrics`` (``metrics_url``), else in your Prometheus (``client``)."""
    spec = loaded.spec
    if not slo_metrics(spec):
        return []
    if metrics_url is not None:
        names = target_names(metrics_url)
        if names is not None:
            return missing_metrics(spec, names, redact_url(metrics_url))
    if client is not None:
        held = client.metric_names()
        if held is not None:
            # a labelled metric has no series until its first sample: say so
            return [
                w + " (or it has no sample yet)"
                for w in missing_metrics(spec, held, f"Prometheus at {client.shown_url}")
            ]
    return []


def metrics_page(target: TargetSpec | None, url: str | None = None) -> str | None:
    """Where the target's metrics answer (``metrics_url``, else its URL's ``/metrics``); None
    for the embedded service (it starts with the load)."""
    if target is not None and target.metrics_url:
        return target.metrics_url
    url = url or (target.url if target is not None else None)
    return urlsplit(url)._replace(path="/metrics", query="").geturl() if url else None


def probe(loaded: LoadedSpec) -> list[str]:
    """``slocheck validate --probe``: the checks before the load, with no load: the files the
    spec names (exit 2), ``prometheus.url`` answers Prometheus' API (exit 3), and the warnings
    of the SLOs whose metric is missing on ``target.url``'s ``/metrics`` or in Prometheus."""
    from slocheck.workflows.verify import client_for

    check_files(loaded)
    spec = loaded.spec
    client = client_for(spec.prometheus) if spec.prometheus.url else None
    if client is not None:
        check_prometheus(client)
    return metric_warnings(loaded, metrics_page(spec.target), client)
