"""Reports of ``slocheck run``: the verify reports plus the load, client-side statistics,
cross-checks and a per-second timeline."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
from collections.abc import Sequence
from typing import Any

from slocheck._version import __version__
from slocheck.evaluate import Window
from slocheck.load.client_stats import (
    LATE_SEND_S,
    ClientStats,
    GeneratorStats,
    OpenLoopStats,
    StreamStats,
    Tail,
)
from slocheck.load.stats import merged, timeline
from slocheck.regress import Comparison, RunRecord
from slocheck.regress import to_dict as regress_to_dict
from slocheck.regress.record_dicts import record_to_dict
from slocheck.report.writers import (
    SCHEMA_VERSION,
    _iso,
    _num,
    alerts_lines,
    junit_not_judged,
    md,
    to_dict,
    to_junit,
    to_markdown,
)
from slocheck.results import RunResult
from slocheck.units import format_duration
from slocheck.verdict import Verdict


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"slocheck": __version__, "python": platform.python_version()}
    for pkg in ("locust", "requests"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def run_timeline(r: RunResult) -> list[dict[str, float]]:
    return timeline(merged(r.load.snapshot.requests.values()))


def run_to_dict(
    r: RunResult, record: RunRecord | None = None, comparison: Comparison | None = None
) -> dict[str, Any]:
    cfg = r.load.config
    base = to_dict(r.verify) if r.verify else {"slos": [], "warnings": []}
    load = {
        "scenario": cfg.scenario,
        "users": cfg.users,
        "spawn_rate": cfg.spawn_rate,
        "duration_s": cfg.duration,
        "warmup_s": cfg.warmup,
        "requested_rps": cfg.rate,
        "arrival": cfg.arrival,
        "distribution": cfg.distribution if cfg.open_loop and not cfg.trace else None,
        "trace": str(cfg.trace) if cfg.trace else None,
        "speedup": cfg.speedup if cfg.trace else None,
        "max_in_flight": cfg.locust_users if cfg.open_loop else None,
        "processes": cfg.processes,
        "workers": cfg.workers,
        "mix": cfg.mix,
        "launched_at": _iso(r.load.launched_at),
        "stopped_at": _iso(r.load.stopped_at),
        "window_start": _iso(r.load.window_start),
        "peak_users": r.load.snapshot.marks.get("peak_users"),
        "interrupted": r.load.interrupted,
    }
    for check in r.checks:
        if check.name == "achieved_load":
            load["achieved_rps"] = check.details.get("achieved_rps")
    out: dict[str, Any] = _num(
        {
            "schema_version": SCHEMA_VERSION,
            "kind": "run",
            "tool": {"name": "slocheck", "version": __version__},
            "verdict": r.verdict,
            # the cross-checks that did not hold: each keeps the run from passing
            "kept_from_passing_by": [c.name for c in r.not_ok],
            "interrupted": r.verdict == Verdict.INTERRUPTED,
            "error": r.error,
            # what ended the run before its planned end (stage, stop signals, error); null: none
            "ending": r.ending.to_dict() if r.ending is not None else None,
            "spec": {"path": r.loaded.path, "sha256": r.loaded.sha256},
            "config": {
                "target_url": r.target_url,
                "prometheus_url": r.prometheus_url,
                "embedded": r.embedded,
                "selector": r.loaded.spec.prometheus.selector,
                "service": r.loaded.spec.service.model_dump() if r.embedded else None,
            },
            "environment": {**_versions(), "platform": platform.platform(), "cpus": os.cpu_count()},
            "window": base.get("window"),
            "load": load,
            "client": r.client.to_dict() if r.client is not None else {},
            "cross_checks": [
                {
                    "name": c.name,
                    "ok": c.ok,
                    "message": c.message,
                    "details": c.details,
                    "ceiling": c.ceiling,
                }
                for c in r.checks
            ],
            "warnings": base.get("warnings", []),
            "slos": base["slos"],
            "alerts": [a.to_dict() for a in r.alerts] if r.alerts is not None else None,
            "timeline": run_timeline(r),
            "comparison": regress_to_dict(comparison) if comparison else None,
            "regression_record": record_to_dict(record) if record else None,
        }
    )
    return out


def run_to_json(
    r: RunResult, record: RunRecord | None = None, comparison: Comparison | None = None
) -> str:
    return json.dumps(run_to_dict(r, record, comparison), indent=2, allow_nan=False) + "\n"


def run_to_markdown(r: RunResult) -> str:
    head = to_markdown(r.verify) if r.verify else f"## slocheck: {r.verdict.upper()}\n\n"
    cfg = r.load.config
    lines = [head.rstrip("\n"), ""]
    slos = r.verify.verdict if r.verify is not None else None
    if r.verdict in (Verdict.INTERRUPTED, Verdict.INCONCLUSIVE, Verdict.ERROR) or r.verdict != slos:
        lines += [f"**Run verdict: {r.verdict.upper()}**", ""]
    if r.not_ok:
        names = ", ".join(md(c.name) for c in r.not_ok)
        lines += [f"Kept from passing by the cross-checks that did not hold: {names}", ""]
    if r.ending is not None:
        lines += [f"**Ended early**: {md(r.ending.text)}.", ""]
    if r.error:
        lines += [f"The run could not be judged: {md(r.error)}", ""]
    rate = f" at {cfg.rate:g} requests/s" if cfg.rate else ""
    lines += [
        f"Load: {md(cfg.scenario)}, {cfg.users} users{rate}, {cfg.warmup:g} s warm-up + "
        f"{cfg.duration:g} s, against {md(r.target_url)}.",
        "",
    ]
    for what, text in client_texts(r.client):
        lines += [f"{CLIENT_HEADINGS[what]}: {md(text)}.", ""]
    if r.alerts is not None:
        lines += ["Production alerts (`--with-rules`):", ""]
        lines += [f"- {md(line)}" for line in run_alerts_lines(r)] + [""]
    lines += [
        f"- {'ok' if c.ok else '**not ok**'}: {md(c.name)}: {md(c.message)}" for c in r.checks
    ]
    return "\n".join(lines) + "\n"


def run_to_junit(r: RunResult) -> str:
    """``junit.xml`` of a run, whatever its ending: the SLOs judged (and the cross-checks that
    keep it from passing), or, when none could be judged, each SLO an <error>; a run that did
    not run out has one more <error> testcase saying how it ended."""
    ending = (r.verdict, r.ending.text) if r.ending is not None else None
    if r.verify is not None:
        return to_junit(r.verify, r.not_ok, ending)
    if r.error:
        reason = r.error
    elif r.ending is not None:
        reason = r.ending.text
    else:
        reason = "the load stopped before the judged window opened"
    return junit_not_judged(
        [(s.name, s.sli) for s in r.loaded.spec.slos],
        reason,
        spec_path=r.loaded.path,
        verdict=r.verdict,
        timestamp=r.load.stopped_at,
        ending=ending,
    )


#: how the reports head each of :func:`client_texts`' lines
CLIENT_HEADINGS = {
    "streams": "Client, streams",
    "open loop": "Client, open loop",
    "generators": "Load generators",
    "cut": "Client, cut by the end",
}


def client_texts(client: ClientStats | None) -> list[tuple[str, str]]:
    """What the load generator measured beyond the table, as ``(what, text)``: ``streams``,
    ``open loop``, ``generators`` and ``cut``, each where it was measured."""
    if client is None:
        return []
    out = []
    if client.llm is not None:
        out.append(("streams", llm_text(client.llm)))
    if client.open_loop is not None:
        out.append(("open loop", open_loop_text(client.open_loop)))
    if client.generators:
        out.append(("generators", generators_text(client.generators)))
    if client.cut:
        out.append(
            (
                "cut",
                f"{client.cut:,} requests were still in flight when the run ended and were cut "
                "(no answer, no record: left out of every SLI)",
            )
        )
    return out


def _tail_text(name: str, tail: Tail | None) -> list[str]:
    if tail is None:
        return []
    shown = ", ".join(f"P{p} {format_duration(value)}" for p, value in tail.shown())
    return [f"{name} {shown}"]


def llm_text(llm: StreamStats) -> str:
    """TTFT P50/P95, inter-token latency P95, tokens/s per request and in all."""
    parts = _tail_text("TTFT", llm.ttft) + _tail_text("inter-token latency", llm.itl)
    if llm.tokens_per_s_per_request_p50 is not None:
        parts.append(f"{llm.tokens_per_s_per_request_p50:,.1f} tokens/s per request (median)")
    if llm.output_tokens is not None and llm.output_tokens_per_s is not None:
        parts.append(
            f"{llm.output_tokens:,.0f} output tokens, {llm.output_tokens_per_s:,.1f} tokens/s"
        )
    return "; ".join(parts)


def open_loop_text(o: OpenLoopStats) -> str:
    """Latency P50/P95/P99 from the intended send (what users saw) and from the actual send
    (the service's answer time), the sends dropped, and those sent late."""
    parts = _tail_text("from intended send", o.intended_send)
    parts += _tail_text("from actual send", o.actual_send)
    parts.append(f"{o.dropped:,} sends dropped ({o.sent:,} sent)")
    if o.late is not None and o.lateness is not None and o.lateness_max_s is not None:
        parts.append(
            f"{o.late:,} sent more than {format_duration(LATE_SEND_S)} late (lateness P99 "
            f"{format_duration(o.lateness.p99_s)}, max {format_duration(o.lateness_max_s)})"
        )
    return "; ".join(parts)


def run_alerts_lines(r: RunResult) -> list[str]:
    """``--with-rules``: each production alert that went pending or fired, or that none did."""
    if r.alerts is None:
        return []
    return alerts_lines(r.alerts, Window(float(r.load.window_start), r.load.stopped_at))


def generators_text(generators: Sequence[GeneratorStats]) -> str:
    """Each load generator's achieved load over the window."""
    return "; ".join(f"{g.name} {g.rps:.1f} requests/s ({g.requests:,})" for g in generators)


def finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None
