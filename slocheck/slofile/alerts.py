"""The user's own labels and annotations on an SLO's generated alerts: one home for them.

An imported Sloth spec (``alerting.labels``/``annotations``, ``page_alert``, ``ticket_alert``)
or OpenSLO ``AlertPolicy`` fills an SLO's ``alerts:``; a slocheck spec may write it too. The
rules (:mod:`slocheck.rules.prometheus`) put the page settings on the SLO's page alert and the
ticket settings on its ticket alert, over slocheck's own (the user's ``severity`` replaces
``page``/``ticket``), and the Alertmanager routes match the severities the alerts then carry.
See docs/openslo-sloth.md."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

#: A Prometheus label (and annotation) name.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: The labels slocheck sets itself: its routes group and inhibit by them, its rules' series
#: carry them. ``severity`` is not one: the user's replaces slocheck's.
OWN_LABELS = frozenset({"slo", "sli", "service", "slo_severity", "alertname"})
Severity = Literal["page", "ticket"]


def problem(key: str, what: str) -> str | None:
    """Why ``key`` cannot name a label (``what="label"``) or annotation of an alert."""
    if not NAME.match(key) or key.startswith("__"):
        return (
            f"{key!r} is not a Prometheus {what} name (letters, digits and _, not a digit "
            "first, not __ first)"
        )
    if what == "label" and key in OWN_LABELS:
        return (
            f"label {key!r} is slocheck's own (the alerts carry slo, sli, service and "
            "slo_severity of their SLO, and the routes group by them): give it another name"
        )
    return None


def _names(values: dict[str, str], what: str) -> dict[str, str]:
    for key in values:
        why = problem(key, what)
        if why:
            raise ValueError(why)
    return values


class AlertSettings(BaseModel):
    """One alert's settings: kept exactly as written (no whitespace stripped)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    disable: bool = False  # Sloth's ``disable: true``: no such alert

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return _names(v, "label")

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str]) -> dict[str, str]:
        return _names(v, "annotation")


class SloAlerts(BaseModel):
    """``alerts:`` of an SLO: the page alert's settings and the ticket alert's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page: AlertSettings = AlertSettings()
    ticket: AlertSettings = AlertSettings()

    def of(self, severity: Severity) -> AlertSettings:
        return self.page if severity == "page" else self.ticket


NONE = SloAlerts()


def labels_of(own: dict[str, str], alerts: SloAlerts | None, severity: Severity) -> dict[str, str]:
    """slocheck's labels of one alert with the user's over them (the user's ``severity`` wins)."""
    return {**own, **(alerts or NONE).of(severity).labels}


def annotations_of(
    own: dict[str, str], alerts: SloAlerts | None, severity: Severity
) -> dict[str, str]:
    """slocheck's annotations with the user's over them (as Sloth merges its own and the
    user's: the user's ``summary`` replaces slocheck's)."""
    return {**own, **(alerts or NONE).of(severity).annotations}


def disabled(alerts: SloAlerts | None, severity: Severity) -> bool:
    return (alerts or NONE).of(severity).disable
