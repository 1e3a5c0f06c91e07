"""The bounds of every number a run takes (finite, documented in docs/slo-spec.md, "Bounds"),
shared by the spec and the command line, and the checks of what the spec may hold as text:
URLs (never with a password), HTTP headers (never with a line break)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from slocheck.units import printable, redact_urls

__all__ = [
    "HEADER_NAME_RE",
    "MAX_DURATION_S",
    "MAX_LATENCY_S",
    "MAX_PROCESSES",
    "MAX_PROM_TIMEOUT_S",
    "MAX_RATE",
    "MAX_SCRAPE_INTERVAL_S",
    "MAX_USERS",
    "MAX_WAIT_S",
    "MAX_WARMUP_S",
    "MAX_WORKERS",
    "MIN_DURATION_S",
    "MIN_SCRAPE_INTERVAL_S",
    "PROMETHEUS_CREDENTIALS",
    "TARGET_CREDENTIALS",
    "bound_text",
    "check_header",
    "http_url",
]

#: load.users and ``--users``; load.max_in_flight
MAX_USERS = 10_000
#: load.rate and ``--rate`` (requests/s in all); load.spawn_rate (users/s)
MAX_RATE = 1_000_000.0
#: load.duration and ``--duration``: at least a second, at most a week
MIN_DURATION_S = 1.0
MAX_DURATION_S = 7 * 86400.0
#: load.warmup and ``--warmup``
MAX_WARMUP_S = 86400.0
#: ``--processes``: Locust processes on this machine
MAX_PROCESSES = 128
#: ``--expect-workers``
MAX_WORKERS = 1000
#: ``--workers-timeout``, target.ready_timeout
MAX_WAIT_S = 3600.0
#: a latency threshold (latency, latency_ratio, ttft, inter_token_latency)
MAX_LATENCY_S = 86400.0
#: prometheus.timeout (per query) and prometheus.scrape_interval
MAX_PROM_TIMEOUT_S = 600.0
MIN_SCRAPE_INTERVAL_S = 0.1
MAX_SCRAPE_INTERVAL_S = 3600.0
#: an HTTP header's name: an RFC 9110 token
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")


def bound_text(seconds: float) -> str:
    """``604800`` -> ``7d``, ``3600`` -> ``1h``, ``0.1`` -> ``100ms``: a duration as people
    write it (in a bound, or the value that broke one)."""
    if seconds == 0:
        return "0s"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


def check_header(name: str, value: str) -> None:
    """ValueError for a header that is not one: a name that is not a token, a value that holds
    a line break or another control character (it would split the request). The value, maybe
    a secret, is never shown."""
    if not HEADER_NAME_RE.match(name):
        raise ValueError(
            f"{printable(name)!r:.60} is not a header name (letters, digits and "
            "!#$%&'*+-.^_`|~ only): remove the spaces, colons or line breaks"
        )
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise ValueError(
            f"{name}: the value holds a line break or another control character, "
            "which would split the request: remove it"
        )


def http_url(v: str, *, credentials: str | None = None) -> str:
    """An http(s) URL that parses, host and port included; no trailing slash. A URL with a user
    or password is refused unless ``credentials`` is None (the command line and the Python API
    accept one: it is redacted wherever it is shown); else ``credentials`` says where the secret
    goes instead. No message ever shows the password."""
    try:
        parts = urlsplit(v)
        _ = parts.port
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        secret = parts.username is not None or parts.password is not None
    except ValueError:
        ok = secret = False
    if not ok:
        raise ValueError(f"expected an http:// or https:// URL, got {redact_urls(repr(v)):.80}")
    if secret and credentials is not None:
        raise ValueError(
            f"a URL with a user or password ({redact_urls(v):.80}): secrets never go in the spec; "
            + credentials
        )
    return v.rstrip("/")


#: Where a password goes instead of a spec's URL.
PROMETHEUS_CREDENTIALS = (
    "name an environment variable in prometheus.basic_auth_env (holding user:password) or "
    "prometheus.bearer_token_env (holding a token)"
)
TARGET_CREDENTIALS = (
    "keep the URL with its credentials in an environment variable and give it on the command "
    'line: --target-url "$TARGET_URL" (it is redacted in every message and report)'
)
