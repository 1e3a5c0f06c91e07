"""promtool unit tests for the generated rules (pure): ``promtool test rules FILE`` proves that
each alert fires when it should and stays quiet when it should.

Per ratio SLO, three test groups feed its raw series (the counters, buckets or ``up`` its
error ratio is computed from) with a steady error ratio: one that burns the budget fast
(20 times its rate, at most every event), one that burns it slowly (twice its rate), and one
that burns nothing. Which alerts each one raises is worked out here from the same burn pairs
the rules use: at a steady ratio every window holds it, so a pair fires when the ratio is
above its factor times the budget. Per threshold SLO: a histogram whose every observation lies
above the threshold (the alert fires after its ``for``) and one whose every observation lies
below it. Per service: ``up`` at 0 (down) and requests that stop (no traffic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slocheck.evaluate.plan import plan
from slocheck.promql import Matcher, Selector, duration, parse_matchers
from slocheck.rules.objectives import Objective, requests_total, up_selector
from slocheck.rules.prometheus import (
    BURN_ALERT,
    BURNS,
    DOWN_ALERT,
    NO_TRAFFIC_ALERT,
    THRESHOLD_ALERT,
    alert_name,
    burn_annotations,
    burn_labels,
    burn_severities,
    dump_yaml,
    rule_set,
    service_alerts,
    threshold_rules,
)
from slocheck.slofile.alerts import Severity, annotations_of
from slocheck.slofile.kinds import counts_failed_requests
from slocheck.slofile.model import UNIT_SECONDS, SloSpec, Spec
from slocheck.slofile.sources import named_preset

EVAL_MINUTES = 70  #: past every ``for`` and the longest short window
#: How often promtool evaluates the rules (every test ends on one of its evaluations): the burns
#: span up to a day and two hours of input samples; the alerts without ``for`` need only their
#: evaluation time.
EVALUATION_MINUTES = 5
EVALUATION = f"{EVALUATION_MINUTES}m"
BAD_VALUES = ("500", "5xx", "503", "error", "failure", "failed", "true")
GOOD_VALUES = ("200", "2xx", "ok", "success", "false")


class NoTest(Exception):
    """This SLO's series cannot be made up for a test (a selector too clever to satisfy)."""


def _literal(pattern: str) -> list[str]:
    """Strings a regular expression of PromQL's (anchored) may match, to try."""
    tries = []
    for alt in pattern.split("|"):
        plain = re.sub(r"\.\*|\.\+|\\(.)", lambda m: m.group(1) or "", alt)
        tries += [plain.replace(".", "0"), plain]
    return tries


def satisfy(sel_inside: str) -> dict[str, str]:
    """Labels (``__name__`` included) of a series that a selector's matchers all accept."""
    return _satisfying(parse_matchers(sel_inside))


def _satisfying(matchers: tuple[Matcher, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name, op, value in ((m.label, m.op, m.value) for m in matchers):
        if op == "=":
            labels[name] = value
        elif op == "=~":
            found = next((t for t in _literal(value) if re.fullmatch(value, t)), None)
            if found is None:
                raise NoTest(f"no value of {name} to satisfy {name}=~{value!r}")
            labels[name] = found
        elif (op == "!=" and value == "") or (op == "!~" and re.fullmatch(value, "")):
            labels[name] = "x"  # absent would be "", which the matcher refuses
    for name, op, value in ((m.label, m.op, m.value) for m in matchers):
        got = labels.get(name, "")
        if (op == "!=" and got == value) or (op == "!~" and re.fullmatch(value, got)):
            raise NoTest(f"cannot satisfy {name}{op}{value!r} together with the others")
    return labels


def series_labels(series: str) -> dict[str, str]:
    """The labels of a series that ``series`` (``name{...}`` or ``{__name__=~...}``) selects."""
    sel = Selector.parse(series)
    labels = _satisfying(sel.matchers)
    if sel.metric:
        labels["__name__"] = sel.metric
    if "__name__" not in labels:
        raise NoTest(f"{series} names no metric")
    return labels


def value_for(pattern: str, bad: bool) -> str | None:
    """A value that the error regex matches (``bad``) or not; None: leave the label out."""
    if not bad:
        return next((v for v in GOOD_VALUES if not re.fullmatch(pattern, v)), None)
    for v in (*_literal(pattern), *BAD_VALUES):
        if v and re.fullmatch(pattern, v):
            return v
    raise NoTest(f"no value for the error pattern {pattern!r}")


def text(labels: dict[str, str]) -> str:
    """``name{a="b"}`` as promtool reads input series."""
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def counter(labels: dict[str, str], burning: float, quiet: float, phases: Phases) -> dict[str, str]:
    """A counter growing by ``burning`` a minute in the burning phase, ``quiet`` before it."""
    return {"series": text(labels), "values": phases.values(burning, quiet)}


@dataclass(frozen=True)
class Phases:
    """A quiet phase of ``quiet_minutes`` with ``volume`` times the traffic and no error, then
    the burning phase of ``burn_minutes``; the test evaluates at its end. The quiet phase's
    heavy traffic dilutes every window longer than the burn to nearly no error, so that one
    window pair of the burn alerts is tested alone."""

    quiet_minutes: int
    burn_minutes: int
    volume: int = 100
    step: int = 1  #: minutes between samples: 5 where the shortest window tested is 30m

    @property
    def minutes(self) -> int:
        return self.quiet_minutes + self.burn_minutes

    @property
    def interval(self) -> str:
        return f"{self.step}m"

    def values(self, burning: float, quiet: float) -> str:
        """promtool's notation for a counter growing by ``burning`` a sample in the burning
        phase and ``quiet`` a sample before it."""
        nq, nb = self.quiet_minutes // self.step, self.burn_minutes // self.step
        if nq == 0:
            return f"0+{burning:g}x{nb}"
        return f"0+{quiet:g}x{nq} {quiet * nq + burning:g}+{burning:g}x{nb - 1}"

    def window_ratio(self, window_minutes: float, ratio: float) -> float:
        """The error ratio a window ending at the evaluation sees."""
        burn = min(window_minutes, self.burn_minutes)
        quiet = min(max(window_minutes - self.burn_minutes, 0), self.quiet_minutes)
        return ratio * burn / (burn + self.volume * quiet)


@dataclass(frozen=True)
class Burning:
    """Input series that hold one error ratio (exactly, as counted) for the whole test."""

    series: list[dict[str, str]]
    ratio: float


def per_minute(ratio: float) -> tuple[int, int]:
    """(bad, all) events a minute that make ``ratio`` with whole numbers of events."""
    total = 1000
    while 0 < ratio * total < 10 and total < 10**9:
        total *= 10
    return round(ratio * total), total


def burning(slo: SloSpec, spec: Spec, ratio: float, phases: Phases) -> Burning:
    """The raw series of ``slo``: no error in the quiet phase, a steady error ratio near
    ``ratio`` in the burning one."""
    sel = spec.prometheus.selector
    explicit = named_preset(spec)
    bad, total = per_minute(ratio)
    exact = bad / total
    heavy = phases.volume * total  # events a minute in the quiet phase, all good
    if slo.sli == "availability" and slo.measurement == "uptime":
        if ratio not in (0.0, 1.0) or phases.quiet_minutes:
            raise NoTest("uptime is tested fully up and fully down only")
        labels = series_labels(plan(slo, sel, explicit).fetch or "up")
        labels.setdefault("instance", "target:80")
        up = f"{int(1 - ratio)}x{phases.burn_minutes}"
        return Burning([{"series": text(labels), "values": up}], ratio)
    if counts_failed_requests(slo.sli):
        p = plan(slo.model_copy(update={"sli": "error_ratio"}), sel, explicit)
        base = series_labels(p.fetch or "")
        label, pattern = p.error_label or "status", p.error_values
        good, worse = dict(base), dict(base)
        if label == "__name__":
            names = _literal(matchers_of(p.fetch or "").get("__name__", base["__name__"]))
            worse["__name__"] = next(n for n in names if re.fullmatch(pattern, n))
            good["__name__"] = next(n for n in names if not re.fullmatch(pattern, n))
        else:
            worse[label] = value_for(pattern, True) or ""
            ok = value_for(pattern, False)
            if ok is None:
                good.pop(label, None)
            else:
                good[label] = ok
        series = [counter(worse, bad, 0, phases), counter(good, total - bad, heavy, phases)]
        return Burning(series, exact)
    if slo.sli == "ratio":
        return _ratio_inputs(slo, spec, bad, total, phases)
    if slo.sli == "latency_ratio":
        p = plan(slo, sel, explicit)
        labels = series_labels(p.fetch or "")
        # the bound as Python's clients write it: the first form le_matcher accepts
        within = {
            **labels,
            "le": repr(float(round((slo.threshold or 0.0) / UNIT_SECONDS[p.unit], 9))),
        }
        every = {**labels, "le": "+Inf"}
        series = [counter(within, total - bad, heavy, phases), counter(every, total, heavy, phases)]
        return Burning(series, exact)
    raise NoTest(f"no ratio inputs for sli {slo.sli}")


def matchers_of(series: str) -> dict[str, str]:
    return {m.label: m.value for m in Selector.parse(series).matchers if m.op == "=~"}


def _ratio_inputs(slo: SloSpec, spec: Spec, bad: int, total: int, phases: Phases) -> Burning:
    # the selectors the verifier counts: the good (or bad) events, and all of them
    p = plan(slo, spec.prometheus.selector)
    counted_sel, total_sel = p.fetch or "", p.fetch_total or ""
    counted, everything = series_labels(counted_sel), series_labels(total_sel)
    heavy = phases.volume * total
    # the counted events a minute, burning and quiet: the good ones, or the bad ones
    n, quiet = (total - bad, heavy) if slo.good else (bad, 0)
    if counted["__name__"] != everything["__name__"]:
        series = [counter(counted, n, quiet, phases), counter(everything, total, heavy, phases)]
        return Burning(series, bad / total)
    # one counter: the counted events are some of its series, the rest another series of it
    counted = {**everything, **counted}
    rest = dict(counted)
    differ = [m.label for m in Selector.parse(counted_sel).matchers if m.op == "="]
    differ = [k for k in differ if k != "__name__" and k not in everything]
    if not differ:
        raise NoTest("the counted selector adds no label to tell its series from the rest")
    rest[differ[0]] = "other"
    series = [counter(counted, n, quiet, phases), counter(rest, total - n, heavy - quiet, phases)]
    return Burning(series, bad / total)


WINDOW_MINUTES = {"5m": 5, "30m": 30, "1h": 60, "2h": 120, "6h": 360, "1d": 1440, "3d": 4320}


def firing(o: Objective, ratio: float, phases: Phases) -> list[Severity]:
    """The severities of the burn alerts the inputs raise: a pair fires when both its windows
    see an error ratio above its factor times the budget."""
    assert o.budget is not None

    def above(window: str, factor: float) -> bool:
        return phases.window_ratio(WINDOW_MINUTES[window], ratio) > factor * o.budget  # type: ignore[operator]

    return [
        sev
        for sev in burn_severities(o)
        if any(above(b.long, b.factor) and above(b.short, b.factor) for b in BURNS[sev])
    ]


def _alert(o: Objective, spec: Spec, severity: Severity) -> dict[str, Any]:
    """The page or ticket alert as the rules write it: the user's labels and annotations
    (``alerts:``) over slocheck's."""
    own = burn_annotations(o, spec, severity, duration(spec.period, largest="d"))
    return {
        "exp_labels": burn_labels(o, spec, severity),
        "exp_annotations": annotations_of(own, o.alerts, severity),
    }


def scenarios(o: Objective, uptime: bool) -> list[tuple[str, float, Phases]]:
    """One burn per window pair, each at 1.5 times the pair's factor (so no pair with a higher
    factor fires), and one that burns nothing. The burn lasts the pair's long window, after a
    quiet phase just long enough that every longer window sees at most half its pair's factor
    (so no pair with a lower factor fires); the pair of the longest window needs no quiet
    phase: its burn starts with the series and lasts its short window (the long window then
    sees the same ratio). promtool evaluates every rule at every step, so the tests are kept
    this short: a few hours of series where 3-day ones took four times as long."""
    assert o.budget is not None
    if uptime:
        return [
            ("is down for 70 minutes", 1.0, Phases(0, EVAL_MINUTES)),
            ("is up", 0.0, Phases(0, EVAL_MINUTES)),
        ]
    longest = max(WINDOW_MINUTES.values())
    out = []
    for pairs in BURNS.values():
        for b in pairs:
            ratio = min(1.0, 1.5 * b.factor * o.budget)
            what = f"burns {1.5 * b.factor:g}x its budget in its {b.long} and {b.short} windows"
            step = 1 if WINDOW_MINUTES[b.short] < 30 else 5
            burn = WINDOW_MINUTES[b.long]
            if burn == longest:
                phases = Phases(0, WINDOW_MINUTES[b.short], step=step)
            else:
                phases = _quiet_enough(o, ratio, burn, step)
            out.append((what, ratio, phases))
    out.append(("burns nothing", 0.0, Phases(0, EVAL_MINUTES)))
    return out


def _quiet_enough(o: Objective, ratio: float, burn: int, step: int) -> Phases:
    """The shortest quiet phase (whole evaluation steps, so that the test ends on an
    evaluation) before a burn of ``burn`` minutes after which every window pair with a longer
    long window sees at most half its factor there; at most one that reaches to the next longer
    window (all the dilution there is)."""
    assert o.budget is not None
    budget = o.budget
    longer = [b for pairs in BURNS.values() for b in pairs if WINDOW_MINUTES[b.long] > burn]
    reach = min(WINDOW_MINUTES[b.long] for b in longer) - burn
    every = max(step, EVALUATION_MINUTES)
    for quiet in range(every, reach + every, every):
        phases = Phases(min(quiet, reach), burn, step=step)
        if all(
            phases.window_ratio(WINDOW_MINUTES[b.long], ratio) <= b.factor * budget / 2
            for b in longer
        ):
            return phases
    return Phases(reach, burn, step=step)


def ratio_tests(o: Objective, spec: Spec, slo: SloSpec) -> list[dict[str, Any]]:
    tests = []
    for what, ratio, phases in scenarios(o, slo.measurement == "uptime"):
        inputs = burning(slo, spec, ratio, phases)
        tests.append(
            {
                "name": f"{o.name} {what} (error ratio {inputs.ratio:.6g})",
                "interval": phases.interval,
                "input_series": inputs.series,
                "alert_rule_test": [
                    {
                        "eval_time": f"{phases.minutes}m",
                        "alertname": alert_name(o, BURN_ALERT),
                        "exp_alerts": [
                            _alert(o, spec, sev) for sev in firing(o, inputs.ratio, phases)
                        ],
                    }
                ],
            }
        )
    return tests


def threshold_tests(o: Objective, spec: Spec, slo: SloSpec) -> list[dict[str, Any]]:
    """Every observation above the threshold (fires), or below it (quiet)."""
    if slo.sli == "promql":
        raise NoTest("a promql SLI's series are the user's own")
    sel = spec.prometheus.selector
    explicit = named_preset(spec)
    p = plan(slo, sel, explicit)
    labels = series_labels(p.fetch or "")
    t = (slo.threshold or 0.0) / UNIT_SECONDS[p.unit]
    low, high = f"{t / 2:.9g}", f"{t * 2:.9g}"
    _, alerts = threshold_rules(o, spec)
    if not alerts:
        raise NoTest("its alert is disabled (alerts: ... disable: true)")
    expected = {k: v for k, v in alerts[0].items() if k in ("labels", "annotations")}
    tests = []
    for what, slow in (("misses its threshold", True), ("meets its threshold", False)):
        n, flat = 100, Phases(0, EVAL_MINUTES)
        series = [
            counter({**labels, "le": low}, 0 if slow else n, 0, flat),
            counter({**labels, "le": high}, n, 0, flat),
            counter({**labels, "le": "+Inf"}, n, 0, flat),
        ]
        tests.append(
            {
                "name": f"{o.name} {what}",
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {
                        "eval_time": f"{EVAL_MINUTES}m",
                        "alertname": alert_name(o, THRESHOLD_ALERT),
                        "exp_alerts": [
                            {
                                "exp_labels": expected["labels"],
                                "exp_annotations": expected["annotations"],
                            }
                        ]
                        if slow
                        else [],
                    }
                ],
            }
        )
    return tests


def service_tests(spec: Spec) -> list[dict[str, Any]]:
    alerts = {a["alert"]: a for a in service_alerts(spec)}
    up = series_labels(up_selector(spec))
    up.setdefault("job", "target")
    up.setdefault("instance", "target:80")
    down = alerts[DOWN_ALERT]
    tests: list[dict[str, Any]] = [
        {
            "name": f"{spec.service.name} is down",
            "interval": "1m",
            "input_series": [{"series": text(up), "values": f"0x{EVAL_MINUTES}"}],
            "alert_rule_test": [
                {
                    "eval_time": "5m",
                    "alertname": DOWN_ALERT,
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                **{k: v for k, v in up.items() if k != "__name__"},
                                **down["labels"],
                            },
                            "exp_annotations": down["annotations"],
                        }
                    ],
                }
            ],
        }
    ]
    total = requests_total(spec)
    if total is not None and NO_TRAFFIC_ALERT in alerts:
        quiet = alerts[NO_TRAFFIC_ALERT]
        tests.append(
            {
                "name": f"{spec.service.name} serves no requests",
                "interval": "1m",
                "input_series": [
                    {"series": text(series_labels(total)), "values": f"5x{EVAL_MINUTES}"}
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "20m",
                        "alertname": NO_TRAFFIC_ALERT,
                        "exp_alerts": [
                            {"exp_labels": quiet["labels"], "exp_annotations": quiet["annotations"]}
                        ],
                    }
                ],
            }
        )
    return tests


@dataclass(frozen=True)
class RuleTests:
    tests: list[dict[str, Any]]
    untested: list[tuple[str, str]]  # (SLO, why)

    def to_yaml(self, rule_file: str) -> str:
        return dump_yaml(
            {"rule_files": [rule_file], "evaluation_interval": EVALUATION, "tests": self.tests}
        )


def rule_tests(spec: Spec) -> RuleTests:
    rules = rule_set(spec)
    by_name = {s.name: s for s in spec.slos}
    tests: list[dict[str, Any]] = []
    untested: list[tuple[str, str]] = []
    for o in rules.objectives:
        try:
            if o.kind == "ratio":
                tests += ratio_tests(o, spec, by_name[o.name])
            else:
                tests += threshold_tests(o, spec, by_name[o.name])
        except (NoTest, StopIteration) as e:
            untested.append((o.name, str(e) or "its series cannot be made up"))
    tests += service_tests(spec)
    return RuleTests(tests, untested)
