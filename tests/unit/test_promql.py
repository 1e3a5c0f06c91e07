"""slocheck.promql: the Selector value type and the one PromQL duration formatter.

The ``_old_*`` functions are the string builders and parsers the Selector replaced (copied
from evaluate/plan.py and slofile/model.py as they were): the property tests hold the new type
to their exact output, so that no query text changes."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slocheck.promql import (
    Matcher,
    Selector,
    SelectorError,
    duration,
    parse_matchers,
    quote,
    unquote,
)

# --- the replaced string functions, as they were ------------------------------------------


def _old_selector(metric: str, base: str, *extra: str) -> str:
    matchers = [m for m in (base, *extra) if m]
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def _old_add(series: str, matcher: str) -> str:
    name, _, inner = series.partition("{")
    return _old_selector(name, inner.removesuffix("}"), matcher)


def _old_with_base(series: str, base: str) -> str:
    name, _, inner = series.partition("{")
    return _old_selector(name, base, inner.removesuffix("}"))


_M = r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
_OLD_SELECTOR_RE = re.compile(rf"^(?:{_M})(?:,{_M})*,?$")
_OLD_SERIES_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.DOTALL)


def _old_series_selector(v: str) -> str | None:
    m = _OLD_SERIES_RE.match(v)
    inner = (m.group(2) or "").strip() if m else ""
    if m is None or (inner and not _OLD_SELECTOR_RE.match(inner)):
        return None
    return f"{m.group(1)}{{{inner.rstrip(',').strip()}}}" if inner else m.group(1)


def _old_base(v: str) -> str | None:
    inner = v.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if inner and not _OLD_SELECTOR_RE.match(inner):
        return None
    return inner.rstrip(",").strip()


# --- strategies: selectors as people write them, spaces and all ------------------------------

spaces = st.sampled_from(["", " ", "  "])
labels = st.sampled_from(["job", "endpoint", "status", "le", "__name__", "code_2"])
ops = st.sampled_from(["=", "!=", "=~", "!~"])
values = st.sampled_from(["demo", "/v1/classify", "5..", "", 'a\\"b', "x\\\\.y", "a,b", "{}"])


@st.composite
def matcher_texts(draw: st.DrawFn) -> str:
    return (
        f"{draw(spaces)}{draw(labels)}{draw(spaces)}{draw(ops)}{draw(spaces)}"
        f'"{draw(values)}"{draw(spaces)}'
    )


@st.composite
def lists(draw: st.DrawFn) -> str:
    return ",".join(draw(st.lists(matcher_texts(), min_size=1, max_size=4))).strip()


metrics = st.sampled_from(["http_requests_total", "vllm:e2e_request_latency_seconds_bucket", "up"])


@given(metrics, lists(), lists())
def test_add_and_with_base_render_todays_strings(metric: str, base: str, extra: str) -> None:
    series = _old_selector(metric, extra)
    assert Selector.parse(series).add(base).render() == _old_add(series, base)
    assert Selector.parse(series).with_base(base).render() == _old_with_base(series, base)
    assert Selector(metric).add(base, extra).render() == _old_selector(metric, base, extra)


@given(metrics, spaces, lists(), st.booleans())
def test_a_series_parses_and_renders_as_the_slo_file_kept_it(
    metric: str, gap: str, inner: str, comma: bool
) -> None:
    text = f"{metric}{gap}{{{inner}{',' if comma else ''}}}"
    assert Selector.parse(text).render() == _old_series_selector(text)
    assert Selector.parse(metric).render() == metric


@given(lists(), st.booleans())
def test_a_base_selector_parses_as_the_slo_file_kept_it(inner: str, braces: bool) -> None:
    text = f"{{{inner}}}" if braces else inner
    assert Selector("", parse_matchers(_old_base(text) or "")).inside() == _old_base(text)


@pytest.mark.parametrize(
    "text",
    [
        'http_requests_total{job="demo", endpoint=~"/v1/.*",status!="200",code!~"2.."}',
        '{__name__=~"a_success|a_failure", job="x"}',
        'up{job = "a" , b="c"}',
        "up",
        'x{a="with \\"quotes\\" and \\\\ backslash"}',
        'x{a="a}b,c=\\"d"}',
    ],
)
def test_round_trip(text: str) -> None:
    assert Selector.parse(text).render() == text
    assert Selector.parse(Selector.parse(text).render()) == Selector.parse(text)


def test_the_four_operators_and_their_parts() -> None:
    s = Selector.parse('m{a="1", b!="2", c=~"3.", d!~"4|5"}')
    assert s.metric == "m"
    assert [(m.label, m.op, m.value) for m in s.matchers] == [
        ("a", "=", "1"),
        ("b", "!=", "2"),
        ("c", "=~", "3."),
        ("d", "!~", "4|5"),
    ]
    assert s.label("c") == Matcher("c", "=~", "3.")
    assert s.without("a", "b").render() == 'm{c=~"3.", d!~"4|5"}'
    assert s.canonical().render() == 'm{a="1",b!="2",c=~"3.",d!~"4|5"}'


def test_matchers_are_equal_however_spaced() -> None:
    assert Selector.parse('m{ a = "1" }') == Selector.parse('m{a="1"}')
    assert Matcher.parse(' a = "1" ').render() == ' a = "1" '
    assert Matcher("a", "=", "1").render() == 'a="1"'


def test_quoting_and_escapes() -> None:
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    m = Matcher.of("a", "=", 'say "hi"\\')
    assert m.render() == 'a="say \\"hi\\"\\\\"'
    assert m.text == 'say "hi"\\'
    assert unquote("5\\\\..") == "5\\.."
    assert unquote("a\\nb") == "a\nb"


def test_what_a_selector_accepts() -> None:
    s = Selector.parse('m{a="1", b!="2", c=~"3.", d!~"4|5", le=~"500\\\\.0|500"}')
    good = {"__name__": "m", "a": "1", "b": "x", "c": "3x", "d": "6", "le": "500.0"}
    assert s.accepts(good)
    for label, bad in (("__name__", "n"), ("a", "2"), ("b", "2"), ("c", "3"), ("d", "4")):
        assert not s.accepts({**good, label: bad})
    assert not s.accepts({**good, "le": "500x0"})  # \. is a dot, not any character


def test_names_of_a_selector() -> None:
    assert Selector.parse('x_bucket{job="x"}').names() == ["x_bucket"]
    assert Selector.parse('{__name__=~"a_success|a_failure", job="x"}').names() == [
        "a_success",
        "a_failure",
    ]
    assert Selector.parse('{__name__="a"}').names() == ["a"]
    assert Selector.parse('{job="x"}').names() == []
    alt = Selector.parse('{job="x",__name__=~"a|b",__name__=~"b"}').alternatives()
    assert alt is not None and alt.value == "a|b"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "expected a series selector, got nothing"),
        ("{}", "selects nothing"),
        ("9x", "expected a metric name or { at character 1"),
        ("x y", "expected { or the end after the metric name x"),
        ('x{a="1"', "expected } at the end"),
        (
            'x{a="1" b="2"}',
            'expected a comma between label matchers at character 9 of \'x{a="1" b="2"}\'',
        ),
        ('x{="1"}', "expected a label name at character 3"),
        ('x{a~"1"}', "expected =, !=, =~ or !~ after the label a at character 4"),
        ("x{a=1}", "expected a double-quoted value after a= at character 5"),
        ('x{a="1}', "never closed"),
        ("x{a='1'}", "expected a double-quoted value"),
    ],
)
def test_bad_selectors_say_what_and_where(text: str, error: str) -> None:
    with pytest.raises(SelectorError, match=re.escape(error)):
        Selector.parse(text)


def test_matcher_lists() -> None:
    assert parse_matchers("") == ()
    assert parse_matchers('a="1",') == (Matcher("a", "=", "1"),)
    with pytest.raises(SelectorError, match="expected a label name"):
        parse_matchers('a="1",,b="2"')
    with pytest.raises(SelectorError, match="expected one label matcher"):
        Matcher.parse('a="1",b="2"')


@pytest.mark.parametrize(
    ("seconds", "largest", "text"),
    [
        (600, "s", "600s"),
        (2.5, "s", "2500ms"),
        (0.0004, "s", "0s"),
        (0, "s", "0s"),
        (0.001, "s", "1ms"),
        (3600, "s", "3600s"),
        (28 * 86400, "d", "28d"),
        (3600, "d", "1h"),
        (5400, "d", "90m"),
        (45, "d", "45s"),
        (7 * 86400, "d", "7d"),
        (0, "d", "0s"),
        (90, "m", "90s"),
        (120, "m", "2m"),
        (1.5, "d", "1500ms"),
    ],
)
def test_duration(seconds: float, largest: str, text: str) -> None:
    assert duration(seconds, largest=largest) == text  # type: ignore[arg-type]


def _old_window_text(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _old_duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


@given(st.floats(0, 400 * 86400, allow_nan=False))
def test_duration_writes_windows_as_before(seconds: float) -> None:
    assert duration(seconds) == _old_window_text(seconds)


@given(st.integers(0, 400 * 86400))
def test_duration_writes_whole_second_periods_as_before(seconds: int) -> None:
    assert duration(seconds, largest="d") == _old_duration_text(seconds)
