"""An OpenSLO SLO's ``alertPolicies`` as its ``alerts:`` (pure; :mod:`slocheck.slofile.alerts`).

Each policy (inline or ``alertPolicyRef``) has one ``AlertCondition`` (inline or
``conditionRef``), a burn rate with a ``severity``, and ``notificationTargets`` (inline or
``targetRef``). slocheck writes one page alert (14.4x over 1h and 5m, or 6x over 6h and 30m) and
one ticket alert (3x, 1x) per SLO: a policy whose burn rate threshold is 6 or more sets the
page alert's settings, a lower one the ticket's. They get the policy's ``metadata.labels`` (a
list of values joined with commas), ``severity`` from the condition, ``notification_targets``
(the targets' names), and the policy's ``description`` as the ``description`` annotation;
``alertWhenBreaching: false`` turns the alert off. See docs/openslo-sloth.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from slocheck.errors import SpecError
from slocheck.slofile.alerts import problem
from slocheck.slofile.lines import PathT, format_path


class _Doc(Protocol):
    """One OpenSLO object (slocheck.slofile.openslo._Doc)."""

    name: str

    def get(
        self, path: PathT, kind: type | tuple[type, ...] | None = None, required: bool = False
    ) -> Any: ...

    def error(self, path: PathT, message: str, hint: str | None = None) -> SpecError: ...


#: slocheck's slowest page pair (slocheck.rules.prometheus.BURNS["page"]): a policy burning
#: at least this fast sets the page alert's settings.
PAGE_FACTOR = 6.0


def _labels(doc: _Doc, path: PathT, notes: list[str]) -> dict[str, str]:
    """``metadata.labels``: strings, or lists of strings (joined with commas); a name no
    Prometheus label can have is left out and told."""
    out: dict[str, str] = {}
    for key, written in (doc.get(path, dict) or {}).items():
        value = written
        if isinstance(written, list) and all(isinstance(v, str) for v in written):
            value = ",".join(written)
        if not isinstance(value, str):
            raise doc.error((*path, str(key)), "expected a string or a list of strings")
        why = problem(str(key), "label")
        if why:
            notes.append(f"{doc.name}: {format_path((*path, key))}: not on the alerts: {why}")
        else:
            out[str(key)] = value
    return out


def _resolve(
    doc: _Doc, at: PathT, kind: str, ref_key: str, by_name: Mapping[str, _Doc]
) -> tuple[_Doc, PathT]:
    """An inline object (the document and its path) or the object its ``ref_key`` names."""
    item = doc.get(at, dict, required=True)
    ref = item.get(ref_key)
    if ref is not None:
        if not isinstance(ref, str) or ref not in by_name:
            raise doc.error((*at, ref_key), f"no {kind} named {ref!r} in this file")
        return by_name[ref], ()
    if item.get("kind", kind) != kind:
        raise doc.error((*at, "kind"), f"expected {kind} (or {ref_key}:)")
    return doc, at


def _policy(
    doc: _Doc, at: PathT, objs: Mapping[str, Mapping[str, _Doc]], notes: list[str]
) -> tuple[str, float, dict[str, Any]]:
    """One policy: the alert it sets (page or ticket), its burn rate and its settings."""
    spec: PathT = (*at, "spec")
    conditions = doc.get((*spec, "conditions"), list, required=True)
    if len(conditions) != 1:
        raise doc.error((*spec, "conditions"), "expected one condition (OpenSLO allows one)")
    c_doc, c_at = _resolve(
        doc, (*spec, "conditions", 0), "AlertCondition", "conditionRef", objs["AlertCondition"]
    )
    kind = c_doc.get((*c_at, "spec", "condition", "kind"), str) or "burnrate"
    if kind != "burnrate":
        raise c_doc.error((*c_at, "spec", "condition", "kind"), f"expected burnrate, got {kind!r}")
    severity = c_doc.get((*c_at, "spec", "severity"), str, required=True)
    factor = c_doc.get((*c_at, "spec", "condition", "threshold"), (int, float), required=True)
    labels = {**_labels(doc, (*at, "metadata", "labels"), notes), "severity": severity}
    targets = []
    for i, _ in enumerate(doc.get((*spec, "notificationTargets"), list) or []):
        t_doc, t_at = _resolve(
            doc,
            (*spec, "notificationTargets", i),
            "AlertNotificationTarget",
            "targetRef",
            objs["AlertNotificationTarget"],
        )
        name = t_doc.get((*t_at, "metadata", "name"), required=True) if t_at else t_doc.name
        targets.append(str(name))
    if targets:
        labels["notification_targets"] = ",".join(targets)
    settings: dict[str, Any] = {"labels": labels}
    description = doc.get((*spec, "description"), str)
    if description:
        settings["annotations"] = {"description": description}
    if doc.get((*spec, "alertWhenBreaching"), bool) is False:
        settings["disable"] = True
    return ("page" if float(factor) >= PAGE_FACTOR else "ticket"), float(factor), settings


def alerts_of(
    slo: _Doc, objs: Mapping[str, Mapping[str, _Doc]], notes: list[str], used: set[str]
) -> dict[str, Any] | None:
    """The SLO's ``alerts:`` from its ``spec.alertPolicies`` (None without any); the names of
    the AlertPolicy objects it refers to are added to ``used``."""
    policies = slo.get(("spec", "alertPolicies"), list) or []
    out: dict[str, Any] = {}
    for i, _ in enumerate(policies):
        at: PathT = ("spec", "alertPolicies", i)
        doc, p_at = _resolve(slo, at, "AlertPolicy", "alertPolicyRef", objs["AlertPolicy"])
        if p_at == ():
            used.add(doc.name)
        which, factor, settings = _policy(doc, p_at, objs, notes)
        if which in out:
            raise slo.error(
                at,
                f"a second alert policy for the {which} alert: slocheck writes one page alert "
                f"(burn rate {PAGE_FACTOR:g}x or more) and one ticket alert per SLO",
            )
        out[which] = settings
        notes.append(
            f"{slo.name}: alert policy {i} (burn rate {factor:g}x) sets the labels of the "
            f"{which} alert"
        )
    return out or None
