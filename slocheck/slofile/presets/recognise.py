"""Which preset a server's ``/metrics`` belongs to, from the metric names each preset declares
(pure: names in, a preset out). ``slocheck init`` reads the target's ``/metrics`` (or
Prometheus's list of names) and picks the preset whose series appear.

Why count names and then the share: vLLM and fastapi-instrumentator both export
``http_requests_total``, and ``slocheck serve`` exports the instrumentator's two names too; the
preset with the most of its own names present wins, and of two with as many the one whose names
are all there (the instrumentator's two, against two of the reference service's six).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from slocheck.promql import METRIC_NAME, Selector, SelectorError
from slocheck.slofile.presets.base import Counter, Histogram, Preset

_NAME = re.compile(rf"^({METRIC_NAME})")
#: the suffixes of a histogram's (or summary's) samples: any of them shows the histogram
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _selector_names(series: str) -> tuple[str, ...]:
    """The metric names of a selector: ``x{a="b"}`` -> x; ``{__name__=~"a|b"}`` -> a, b."""
    try:
        return tuple(Selector.parse(series).names())
    except SelectorError:
        return ()


def _counter_names(counter: Counter | None) -> tuple[str, ...]:
    if counter is None:
        return ()
    names = _selector_names(counter.series)
    if counter.also_errors:
        names += _selector_names(counter.also_errors)
    return names


def _histogram_names(hist: Histogram | None) -> tuple[str, ...]:
    return () if hist is None else (hist.metric,)


def preset_metric_names(preset: Preset) -> tuple[str, ...]:
    """Every metric name a preset reads (histograms without ``_bucket``), in order, once."""
    names: list[str] = [
        *_counter_names(preset.requests),
        *_histogram_names(preset.latency),
        *_histogram_names(preset.ttft),
        *_histogram_names(preset.inter_token_latency),
    ]
    for gauge_or_counter in (
        preset.output_tokens,
        preset.input_tokens,
        preset.queue,
        preset.running,
    ):
        if gauge_or_counter:
            names.extend(_selector_names(gauge_or_counter))
    return tuple(dict.fromkeys(names))


def exposition_names(text: str) -> frozenset[str]:
    """The metric names of a Prometheus or OpenMetrics text exposition (``/metrics``): its
    samples' and those its ``# TYPE`` lines declare."""
    names = set()
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# TYPE "):  # a family with no sample yet (a fresh server)
            parts = line.split()
            if len(parts) >= 4:  # "#", "TYPE", name, kind
                names.add(parts[2])
                if parts[3] == "counter" and not parts[2].endswith("_total"):
                    names.add(parts[2] + "_total")  # OpenMetrics names the family without it
            continue
        if not line or line.startswith("#"):
            continue
        m = _NAME.match(line)
        if m:
            names.add(m.group(1))
    return frozenset(names)


def _present(name: str, names: frozenset[str]) -> bool:
    return name in names or any(name + s in names for s in _HISTOGRAM_SUFFIXES)


@dataclass(frozen=True)
class Recognition:
    """The preset whose names the server exports, with those found and those missing."""

    preset: Preset
    found: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def share(self) -> float:
        return len(self.found) / max(1, len(self.found) + len(self.missing))


def recognise(names: Iterable[str], presets: Iterable[Preset] | None = None) -> Recognition | None:
    """The preset most of whose metric names appear among ``names``; None when no preset's
    request counter or latency histogram (or, for a preset that has neither, token counter)
    appears: a match on gauges alone says nothing about the requests."""
    if presets is None:
        from slocheck.slofile.presets import PRESETS

        presets = PRESETS.values()
    have = frozenset(names)
    best: Recognition | None = None
    for preset in presets:
        wanted = preset_metric_names(preset)
        found = tuple(n for n in wanted if _present(n, have))
        core = (
            _counter_names(preset.requests)
            + _histogram_names(preset.latency)
            + ((preset.output_tokens,) if preset.output_tokens else ())
        )
        if not any(_present(n, have) for n in core):
            continue
        candidate = Recognition(preset, found, tuple(n for n in wanted if n not in found))
        if best is None or (len(candidate.found), candidate.share) > (
            len(best.found),
            best.share,
        ):
            best = candidate
    return best


_LE = re.compile(r'(?:^|[,{])\s*le\s*=\s*"([^"]+)"')


def bucket_bounds(text: str, metric: str) -> tuple[float, ...]:
    """The finite ``le`` bounds of histogram ``metric`` in a text exposition, ascending, in the
    histogram's own unit (``+Inf`` left out)."""
    bounds: set[float] = set()
    prefix = metric + "_bucket"
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith(prefix) or line[len(prefix) : len(prefix) + 1] not in ("{", " "):
            continue
        m = _LE.search(line[len(prefix) :])
        if not m:
            continue
        try:
            value = float(m.group(1))
        except ValueError:
            continue
        if math.isfinite(value):
            bounds.add(value)
    return tuple(sorted(bounds))
