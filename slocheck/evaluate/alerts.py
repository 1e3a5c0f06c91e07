"""Which alerts went pending or fired during a run, from Prometheus' ``ALERTS`` series (pure).

Prometheus writes a sample of ``ALERTS{alertname, alertstate, <the alert's labels>}`` at every
rule evaluation while an alert is pending or firing, so the series of one alert and state say
when it was in that state. A gate shows them next to its verdicts: whether the load would have
paged someone with the production rules (``slocheck generate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slocheck.evaluate.counters import Series
from slocheck.evaluate.verdicts import Window

#: Labels that tell one alert from another in a report (the rest are the target's).
SHOWN = ("severity", "slo", "service")


@dataclass(frozen=True)
class AlertSeen:
    """One alert (by name and labels) during the run: when it was first pending and first
    firing, and for how long it fired within the judged window."""

    alertname: str
    labels: dict[str, str]
    pending_at: float | None
    firing_at: float | None
    firing_in_window_s: float
    in_window: bool  # pending or firing at some point of the judged window

    @property
    def fired(self) -> bool:
        return self.firing_at is not None

    def to_dict(self) -> dict[str, object]:
        return {
            "alertname": self.alertname,
            "labels": self.labels,
            "pending_at": self.pending_at,
            "firing_at": self.firing_at,
            "firing_in_window_s": self.firing_in_window_s,
            "in_window": self.in_window,
        }


def alerts_seen(series: Sequence[Series], window: Window, step: float) -> list[AlertSeen]:
    """Every alert of ``ALERTS`` series, with its pending and firing times; ``step`` is the
    rule evaluation interval (a firing sample stands for one step)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, list[float]]] = {}
    for s in series:
        labels = dict(s.labels)
        name = labels.pop("alertname", "")
        state = labels.pop("alertstate", "")
        labels.pop("__name__", None)
        key = (name, tuple(sorted(labels.items())))
        times = [t for t, v in s.samples if v == 1.0]
        found.setdefault(key, {}).setdefault(state, []).extend(times)
    out = []
    for (name, pairs), states in sorted(found.items()):
        pending = sorted(states.get("pending", []))
        firing = sorted(states.get("firing", []))
        inside = [t for t in pending + firing if window.start < t <= window.end + step]
        out.append(
            AlertSeen(
                alertname=name,
                labels=dict(pairs),
                pending_at=pending[0] if pending else None,
                firing_at=firing[0] if firing else None,
                firing_in_window_s=step * sum(1 for t in firing if window.start < t <= window.end),
                in_window=bool(inside),
            )
        )
    return out


def alert_text(a: AlertSeen, window: Window) -> str:
    """``AvailabilityErrorBudgetBurn (page, slo availability): firing 3.0 s into the window``."""
    shown = ", ".join(
        f"{k} {a.labels[k]}" if k != "severity" else a.labels[k] for k in SHOWN if k in a.labels
    )
    label = f"{a.alertname} ({shown})" if shown else a.alertname

    def at(t: float) -> str:
        d = t - window.start
        return f"{d:.1f} s into the window" if d >= 0 else f"{-d:.1f} s before the window"

    if a.firing_at is not None:
        return f"{label}: firing from {at(a.firing_at)}, {a.firing_in_window_s:.0f} s in it"
    assert a.pending_at is not None
    return f"{label}: pending from {at(a.pending_at)} (its `for` did not run out)"
