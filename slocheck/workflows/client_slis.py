"""What the load generator measured, per SLO, over the judged window: the numbers
:func:`slocheck.evaluate.client_side.judge_client` judges (``source: client | both``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from slocheck.errors import UsageError
from slocheck.evaluate import Window
from slocheck.evaluate.client_side import ClientSli, counts_requests
from slocheck.evaluate.counts import unanswered_in
from slocheck.evaluate.goodput import count_goodput
from slocheck.load.request_log import read_requests_file, snapshot_of
from slocheck.load.stats import SecondStats, Snapshot, merged, new_histogram
from slocheck.request_record import RecordError, RequestRecord
from slocheck.slofile import Spec
from slocheck.slofile.kinds import REQUESTS, kind
from slocheck.slofile.model import SloSpec
from slocheck.slofile.sources import LoadKind, preset_of, source_of
from slocheck.workflows.verify import ClientMeasures


def _in_window(seconds: Mapping[int, SecondStats], window: Window) -> list[SecondStats]:
    return [slot for sec, slot in seconds.items() if window.start <= sec < window.end + 1]


def client_sli(
    slo: SloSpec, snap: Snapshot, window: Window, records: Sequence[RequestRecord] = ()
) -> ClientSli:
    """One SLO's client-side numbers over ``window`` (whole seconds from its start on; a
    request is recorded in the second it completed); goodput's from the requests' records."""
    if slo.constraints is not None:
        g = count_goodput(records, slo.constraints, window)
        return ClientSli("requests' records", g.total, bad=g.total - g.good, goodput=g)
    if slo.sli == "token_throughput":
        counts = snap.counts.get("output_tokens", {})
        n = sum(v for sec, v in counts.items() if window.start <= sec < window.end + 1)
        return ClientSli("output tokens", int(n))
    k = kind(slo.sli)
    if k.client_table is not None:  # the streaming SLIs' own tables
        table = snap.metrics.get(k.client_table, {})
        what = slo.sli.replace("_", " ")
    else:
        table = merged(snap.requests.values())
        what = "requests " + ", ".join(sorted(snap.requests)) if snap.requests else "requests"
    slots = _in_window(table, window)
    count = sum(s.count for s in slots)
    # answered 4xx: the client's own fault, not the service's (availability counts 5xx, 424,
    # 429, failed streams and requests with no answer)
    bad = sum(s.errors - s.rejected for s in slots)
    if k.family == REQUESTS:
        return ClientSli(what, count, bad=bad)
    hist = new_histogram()
    for slot in slots:
        slot.add_to(hist)
    n = int(hist.get_total_count())
    if slo.sli == "latency_ratio":
        limit_us = (slo.threshold or 0.0) * 1e6
        within = sum(
            int(v.count_added_in_this_iter_step)
            for v in hist.get_recorded_iterator()
            if v.value_iterated_to <= limit_us
        )
        return ClientSli(what, n, within=within)
    q = hist.get_value_at_percentile(slo.percentile or 50.0) / 1e6 if n else None
    return ClientSli(what, n, quantile_s=q)


def client_slis(
    spec: Spec,
    snap: Snapshot,
    window: Window,
    load: LoadKind,
    records: Sequence[RequestRecord] = (),
) -> dict[str, ClientSli]:
    """Per SLO name, for the SLOs judged (also) from the client where slocheck sent the load
    (``load``), and for those that count failures judged by the server alone (``source:
    server``), whose report says how many failures the client saw that it ignored."""
    preset = preset_of(spec)
    return {
        slo.name: client_sli(slo, snap, window, records)
        for slo in spec.slos
        if source_of(slo, preset, load) != "server" or counts_requests(slo)
    }


def client_measures(
    spec: Spec,
    snap: Snapshot,
    records: Sequence[RequestRecord],
    load: LoadKind,
    window: Window,
    lo: float,
    hi: float = math.inf,
) -> ClientMeasures:
    """What the load generator measured of ``window`` (its requests with no answer counted
    from second ``lo`` to ``hi``), and of any part of it (``of``: a slice)."""
    return ClientMeasures(
        unanswered=unanswered_in(snap.requests, lo, hi),
        slis=client_slis(spec, snap, window, load, records),
        of=lambda part: client_measures(spec, snap, records, load, part, part.start, part.end),
    )


def measures_from_file(spec: Spec, path: str, window: Window) -> tuple[ClientMeasures, LoadKind]:
    """What a run's ``requests.jsonl.gz`` says the load generator measured of ``window``, and
    the run's kind of load (open when its requests had intended send times); a UsageError
    naming the file and line when it cannot be read."""
    try:
        records = read_requests_file(Path(path))
    except RecordError as e:
        raise UsageError(f"--requests: {e}") from None
    kind: LoadKind = "open" if any(r.intended is not None for r in records) else "closed"
    snap = snapshot_of(records)
    return client_measures(spec, snap, records, kind, window, window.start, window.end), kind
