import math

import pytest

from slocheck.units import format_duration, parse_duration, parse_ratio


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("2s", 2.0),
        ("1.5m", 90.0),
        ("1h", 3600.0),
        ("250us", 250e-6),
        ("0.1", 0.1),
        (3, 3.0),
        (0.25, 0.25),
        (" 10 ms ", 0.01),
        ("1e3ms", 1.0),
        ("0s", 0.0),
        ("28d", 28 * 86400.0),
        ("1w", 604800.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad", ["fast", "", "-1s", "5 parsecs", "ms", True, None, [1], math.nan, math.inf, -3]
)
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_parse_duration_error_names_the_value() -> None:
    with pytest.raises(ValueError, match='expected a duration like 500ms, got "fast"'):
        parse_duration("fast")


def test_bare_seconds_can_be_refused() -> None:
    with pytest.raises(ValueError, match="with a unit"):
        parse_duration("5", allow_bare_seconds=False)
    assert parse_duration("5s", allow_bare_seconds=False) == 5.0


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("99.9%", 0.999),
        ("0.1%", 0.001),
        ("100%", 1.0),
        ("0%", 0.0),
        (0.95, 0.95),
        (1, 1.0),
        ("0.05", 0.05),
    ],
)
def test_parse_ratio(text: object, ratio: float) -> None:
    assert parse_ratio(text) == pytest.approx(ratio)


@pytest.mark.parametrize("bad", ["101%", "1.5", "abc", "%", -0.1, True, None, math.nan])
def test_parse_ratio_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="ratio"):
        parse_ratio(bad)


@pytest.mark.parametrize(("seconds", "text"), [(0.25, "250ms"), (2.0, "2s"), (0.0001, "100us")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-10m", NOW - 600),
        ("now - 90s", NOW - 90),
        ("now+1s", NOW + 1),
        ("1700000000", 1_700_000_000.0),
        ("1700000000.5", 1_700_000_000.5),
        ("2026-11-23T10:00:00Z", 1_795_428_000.0),
        ("2026-11-23T11:00:00+01:00", 1_795_428_000.0),
        ("2026-11-23T10:00:00.250Z", 1_795_428_000.25),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    from slocheck.units import parse_time

    assert parse_time(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["yesterday", "now-soon", "2026-11-23T10:00:00", "-5", "nan", ""])
def test_parse_time_rejects(bad: str) -> None:
    from slocheck.units import parse_time

    with pytest.raises(ValueError):
        parse_time(bad, NOW)


def test_durations_are_exactly_the_numbers_they_name() -> None:
    """350ms must equal the 0.35 bucket bound, not 0.35000000000000003."""
    assert parse_duration("350ms") == 0.35
    assert parse_duration("25000us") == 0.025
    assert parse_duration("100us") == 0.0001


@pytest.mark.parametrize("huge", [10**400, -(10**400)])
def test_huge_numbers_are_value_errors(huge: int) -> None:
    with pytest.raises(ValueError):
        parse_duration(huge)
    with pytest.raises(ValueError):
        parse_ratio(huge)


# -- issue 24: text shown to people ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("waiting for http://user:S3CRET@h:8080/x", "waiting for http://***@h:8080/x"),
        ("at https://tok@h/", "at https://***@h/"),
        ("'http://u:p@ss@h:1' and http://v:w@g", "'http://***@h:1' and http://***@g"),
        ("http://h:1/path@not-userinfo", "http://h:1/path@not-userinfo"),
        ("mail me at a@b.c", "mail me at a@b.c"),
        ("no url", "no url"),
    ],
)
def test_redact_urls(text: str, shown: str) -> None:
    from slocheck.units import redact_urls

    assert redact_urls(text) == shown


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("p95 latency", "p95 latency"),
        ("red\x1b[31mname\x1b[0m", "redname"),
        ("title\x1b]0;pwned\x07x", "titlex"),
        ("link\x1b]8;;http://evil\x1b\\text", "linktext"),
        ("rtl\u202eevil", "rtl?evil"),
        ("isolate\u2066x\u2069", "isolate?x?"),
        ("c1\x9b31mx\x85y", "c1x?y"),
        ("nul\x00bell\x07del\x7f", "nul?bell?del?"),
        ("line\nbreak\ttab\r", "line?break?tab?"),
        ("ünïcode ✓", "ünïcode ✓"),
    ],
)
def test_printable(name: str, shown: str) -> None:
    from slocheck.units import printable

    assert printable(name) == shown
