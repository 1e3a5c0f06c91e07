"""PromQL as slocheck writes and reads it: series selectors and durations. Pure text, no I/O.

A leaf module beside ``units``: it imports nothing of slocheck, so that the SLO file, the
judgement, the rules, the Prometheus adapter and the tests all build and read selectors one way.

A :class:`Selector` is parsed once (:meth:`Selector.parse`, precise :class:`SelectorError`),
grown by adding matchers (:meth:`Selector.add`, :meth:`Selector.with_base`) and rendered
(:meth:`Selector.render`). A parsed matcher keeps the text it was written as (spaces
included), so that a selector rendered back is the text that was read: the queries in every
report are exactly the ones the user's ``prometheus.selector`` spelled.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

#: A metric name, a label name, a double-quoted PromQL string (escapes kept).
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
STRING = r'"(?:[^"\\]|\\.)*"'
#: The matcher operators, longest first (as a regex alternation tries them).
OPS: tuple[str, ...] = ("=~", "!~", "!=", "=")
Op = Literal["=", "!=", "=~", "!~"]

_METRIC = re.compile(METRIC_NAME)
_LABEL = re.compile(LABEL_NAME)
#: One matcher with the spaces around it (never the comma).
_MATCHER = re.compile(rf'\s*({LABEL_NAME})\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
_SELECTOR = re.compile(rf"\s*({METRIC_NAME})?\s*(?:\{{(.*)\}})?\s*", re.DOTALL)
#: ``a|b|c``: an alternation of metric names (the ``__name__=~`` of several counters)
_NAMES = re.compile(rf"{METRIC_NAME}(?:\|{METRIC_NAME})+")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
    "'": "'",
}
_DURATION_UNITS: tuple[tuple[str, int], ...] = (
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
)


class SelectorError(ValueError):
    """Text that is not a series selector (or a list of label matchers): what was expected,
    and where."""


def quote(value: str) -> str:
    """``value`` as a PromQL string literal: ``a"b`` -> ``"a\\"b"``."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(written: str) -> str:
    """The string a PromQL literal's inside (``5\\\\..``) stands for (``5\\..``)."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), written)


@dataclass(frozen=True)
class Matcher:
    """``label op "value"``; ``value`` as written between the quotes (escapes kept). Two
    matchers are equal when label, op and value are, however they were spaced."""

    label: str
    op: Op
    value: str
    written: str = field(default="", compare=False, repr=False)

    @classmethod
    def of(cls, label: str, op: Op, value: str) -> Matcher:
        """A matcher on the plain string ``value`` (quoted here)."""
        return cls(label, op, quote(value)[1:-1])

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Exactly one matcher: ``job="demo"``."""
        found = parse_matchers(text)
        if len(found) != 1:
            raise SelectorError(f'expected one label matcher like job="demo", got {text!r:.80}')
        return found[0]

    def canonical(self) -> str:
        """``label op "value"`` without spaces."""
        return f'{self.label}{self.op}"{self.value}"'

    def render(self) -> str:
        """The text it was written as, or its canonical form."""
        return self.written or self.canonical()

    @property
    def text(self) -> str:
        """The plain string the value stands for (escapes resolved)."""
        return unquote(self.value)

    def accepts(self, value: str) -> bool:
        """Whether a series whose label is ``value`` ("" when absent) passes, as in Prometheus
        (a regular expression matches the whole value)."""
        want = self.text
        if self.op == "=":
            return value == want
        if self.op == "!=":
            return value != want
        hit = re.fullmatch(want, value) is not None
        return hit if self.op == "=~" else not hit


def _where(text: str, pos: int) -> str:
    return f"at character {pos + 1} of {text!r:.80}"


def _skip(text: str, pos: int) -> int:
    return pos + len(text[pos:]) - len(text[pos:].lstrip())


def _explain(whole: str, pos: int, end: int) -> str:
    """Why no matcher starts at ``pos`` of ``whole`` (read up to ``end``), and where."""
    text = whole[:end]
    at = _skip(text, pos)
    label = _LABEL.match(text, at)
    if label is None:
        return f"expected a label name {_where(whole, at)}"
    at = _skip(text, label.end())
    if not text.startswith(OPS, at):
        return f"expected =, !=, =~ or !~ after the label {label.group()} {_where(whole, at)}"
    op = next(o for o in OPS if text.startswith(o, at))
    at = _skip(text, at + len(op))
    if not text.startswith('"', at):
        return f"expected a double-quoted value after {label.group()}{op} {_where(whole, at)}"
    return f"the string that starts {_where(whole, at)} is never closed"


def parse_matchers(text: str, start: int = 0, end: int | None = None) -> tuple[Matcher, ...]:
    """``job="demo", code=~"5.."`` (a trailing comma allowed; "" gives none) -> matchers,
    each keeping the text it was written as; ``start``/``end``: read only that part of
    ``text`` (errors say where in the whole)."""
    end = len(text) if end is None else end
    out: list[Matcher] = []
    pos = start
    if not text[start:end].strip():
        return ()
    while True:
        m = _MATCHER.match(text, pos, end)
        if m is None:
            raise SelectorError(_explain(text, pos, end))
        op: Op = m.group(2)  # type: ignore[assignment]
        out.append(Matcher(m.group(1), op, m.group(3), written=m.group(0)))
        pos = m.end()
        if pos == end:
            return tuple(out)
        if text[pos] != ",":
            raise SelectorError(f"expected a comma between label matchers {_where(text, pos)}")
        pos += 1
        if not text[pos:end].strip():
            return tuple(out)


def _matchers_of(parts: Iterable[str | Matcher | Iterable[Matcher]]) -> tuple[Matcher, ...]:
    out: list[Matcher] = []
    for part in parts:
        if isinstance(part, Matcher):
            out.append(part)
        elif isinstance(part, str):
            out += parse_matchers(part)
        else:
            out += part
    return tuple(out)


@dataclass(frozen=True)
class Selector:
    """A series selector: a metric name ("" for ``{__name__=~"a|b"}``) and label matchers."""

    metric: str = ""
    matchers: tuple[Matcher, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Selector:
        """``metric``, ``metric{a="x", b=~"y"}`` or ``{__name__="x"}``, parsed once."""
        m = _SELECTOR.fullmatch(text)
        if m is None:
            rest = text.strip()
            head = _METRIC.match(rest)
            after = rest[head.end() :].lstrip() if head else rest
            if head is None and not after.startswith("{"):
                raise SelectorError(f"expected a metric name or {{ {_where(text, 0)}")
            if after.startswith("{"):
                raise SelectorError(f"expected }} at the end of {text!r:.80}")
            raise SelectorError(
                f"expected {{ or the end after the metric name {head.group() if head else ''} "
                f"in {text!r:.80}"
            )
        metric, inner = m.group(1) or "", m.group(2)
        if not metric and inner is None:
            raise SelectorError("expected a series selector, got nothing")
        start, end = (m.start(2), m.end(2)) if inner is not None else (0, 0)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        matchers = parse_matchers(text, start, end)
        if not metric and not matchers:
            raise SelectorError("{} selects nothing: name a metric or give a label matcher")
        return cls(metric, matchers)

    def add(self, *matchers: str | Matcher | Iterable[Matcher]) -> Selector:
        """With more matchers after its own (a string is a list of them; "" adds none)."""
        return replace(self, matchers=self.matchers + _matchers_of(matchers))

    def with_base(self, *matchers: str | Matcher | Iterable[Matcher]) -> Selector:
        """With matchers before its own: the spec's selector on a preset's series."""
        return replace(self, matchers=_matchers_of(matchers) + self.matchers)

    def without(self, *labels: str) -> Selector:
        """Without the matchers on ``labels``."""
        return replace(self, matchers=tuple(m for m in self.matchers if m.label not in labels))

    def dropping(self, matchers: Collection[Matcher]) -> Selector:
        """Without those of its matchers that are in ``matchers``."""
        return replace(self, matchers=tuple(m for m in self.matchers if m not in matchers))

    def on(self, label: str) -> tuple[Matcher, ...]:
        """Its matchers on ``label``."""
        return tuple(m for m in self.matchers if m.label == label)

    def label(self, name: str) -> Matcher | None:
        """The matcher on label ``name`` when there is exactly one."""
        found = self.on(name)
        return found[0] if len(found) == 1 else None

    def canonical(self) -> Selector:
        """The same selector written without spaces."""
        return replace(self, matchers=tuple(replace(m, written="") for m in self.matchers))

    def names(self) -> list[str]:
        """The metric names it selects: its own, or those of ``__name__="a"`` /
        ``__name__=~"a|b"``; [] when it cannot tell."""
        if self.metric:
            return [self.metric]
        named = [m for m in self.on("__name__") if m.op in ("=", "=~")]
        if not named:
            return []
        return [n for n in named[0].value.split("|") if _METRIC.fullmatch(n)]

    def alternatives(self) -> Matcher | None:
        """The first ``__name__=~"a|b"`` matcher naming several metrics, if any."""
        return next(
            (
                m
                for m in self.on("__name__")
                if m.op == "=~" and _NAMES.fullmatch(m.value) is not None
            ),
            None,
        )

    def accepts(self, labels: Mapping[str, str]) -> bool:
        """Whether a series with ``labels`` (``__name__`` included) is selected."""
        if self.metric and labels.get("__name__") != self.metric:
            return False
        return all(m.accepts(labels.get(m.label, "")) for m in self.matchers)

    def inside(self) -> str:
        """Its matchers as written, joined by commas: what goes between the braces."""
        return ",".join(m.render() for m in self.matchers).strip()

    def render(self) -> str:
        """``metric{...}`` with each matcher as it was written, joined by commas."""
        inner = self.inside()
        return f"{self.metric}{{{inner}}}" if inner else self.metric

    def __str__(self) -> str:
        return self.render()


def selector(metric: str, *matchers: str | Matcher) -> str:
    """The text of a selector of ``metric`` with the matcher lists ``matchers`` (each a string
    like ``job="a", code="500"``; "" adds none): ``metric{job="a", code="500"}``."""
    return Selector(metric).add(*matchers).render()


def is_metric_name(text: str) -> bool:
    return _METRIC.fullmatch(text) is not None


def is_label_name(text: str) -> bool:
    return _LABEL.fullmatch(text) is not None


def duration(seconds: float, *, largest: Literal["d", "h", "m", "s"] = "s") -> str:
    """A PromQL duration: in the largest unit up to ``largest`` that writes ``seconds``
    exactly, else in milliseconds (rounded to one). ``largest="s"``, as queries' windows are
    written: ``600s``, ``2500ms``; ``largest="d"``, as rules are read: ``28d``, ``90m``."""
    ms = round(seconds * 1000)
    units = _DURATION_UNITS[[u for u, _ in _DURATION_UNITS].index(largest) :]
    for unit, size in units:
        if ms % size == 0 and (ms >= size or unit == "s"):
            return f"{ms // size}{unit}"
    return f"{ms}ms"
