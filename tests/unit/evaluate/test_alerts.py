"""Alerts seen during a run, from ALERTS series."""

from __future__ import annotations

from slocheck.evaluate.alerts import alert_text, alerts_seen
from slocheck.evaluate.counters import Series
from slocheck.evaluate.verdicts import Window


def alert(state: str, times: list[float], **labels: str) -> Series:
    return Series(
        {"__name__": "ALERTS", "alertname": "AErrorBudgetBurn", "alertstate": state, **labels},
        [(t, 1.0) for t in times],
    )


def test_pending_then_firing_within_the_window() -> None:
    window = Window(100.0, 130.0)
    series = [
        alert("pending", [98.0, 99.0], severity="page", slo="a"),
        alert("firing", [float(t) for t in range(100, 141)], severity="page", slo="a"),
        alert("pending", [50.0, 51.0], severity="ticket", slo="a"),  # before the window only
    ]
    seen = alerts_seen(series, window, step=1.0)
    page = next(a for a in seen if a.labels["severity"] == "page")
    assert (page.pending_at, page.firing_at) == (98.0, 100.0)
    assert page.firing_in_window_s == 30.0, "the samples in (100, 130], one step each"
    assert page.in_window and page.fired
    ticket = next(a for a in seen if a.labels["severity"] == "ticket")
    assert not ticket.in_window and not ticket.fired
    assert "firing from 0.0 s into the window, 30 s in it" in alert_text(page, window)
    assert "pending from 50.0 s before the window" in alert_text(ticket, window)


def test_no_alert_series_is_no_alert() -> None:
    assert alerts_seen([], Window(0.0, 10.0), step=1.0) == []
