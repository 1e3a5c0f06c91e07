"""What an option of a run takes (:class:`Kind`): a whole number, a number, a duration, a
URL, one of some words, a scenario, a switch, an address to listen on; each with its bounds,
and :meth:`Kind.check` for a Python value (the pytest plugin's keyword arguments, the Python
API). The command line parses the same kinds from text (``cli/flags.py``), with the messages
argparse gives, naming the flag. The options themselves are :mod:`.run_settings`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slocheck.errors import UsageError
from slocheck.slofile.bounds import http_url
from slocheck.units import parse_duration, printable

__all__ = [
    "Bind",
    "Choice",
    "Kind",
    "Number",
    "Scenario",
    "Seconds",
    "Switch",
    "Text",
    "Url",
    "Whole",
    "listen_address",
]


class Kind:
    """What values an option takes. :meth:`check` takes a Python value (the plugin's keyword
    arguments, the Python API) and returns it normalised, or raises ValueError saying what was
    expected; the command line parses the same kinds from text (``cli/flags.py``)."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError


def _plain(number: float) -> str:
    return f"{number:.0f}" if float(number).is_integer() else f"{number:g}"


@dataclass(frozen=True)
class Whole(Kind):
    """A whole number from ``low`` to ``high``."""

    low: int
    high: int

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(self._expected(value))
        if not self.low <= value <= self.high:
            raise ValueError(self._expected(value))
        return value

    def _expected(self, value: Any) -> str:
        return f"expected a whole number from {self.low} to {self.high}, got {value!r:.40}"


@dataclass(frozen=True)
class Number(Kind):
    """A finite number from ``low`` (excluded when ``above``) to ``high``."""

    low: float
    high: float
    above: bool = False

    def check(self, value: Any) -> float:
        ok = not isinstance(value, bool) and isinstance(value, (int, float))
        if ok:
            low_ok = value > self.low if self.above else value >= self.low
            ok = low_ok and value <= self.high  # NaN fails this too
        if not ok or not math.isfinite(float(value)):
            start = "above" if self.above else "from"
            raise ValueError(
                f"expected a number {start} {_plain(self.low)} to {_plain(self.high)}, "
                f"got {value!r:.40}"
            )
        return float(value)


@dataclass(frozen=True)
class Seconds(Kind):
    """A duration (``"8s"``, ``"5m"`` or seconds) from ``low`` (excluded when ``above``) to
    ``high``, in seconds."""

    low: float
    high: float
    above: bool = False

    def check(self, value: Any) -> float:
        seconds = parse_duration(value)  # its ValueError says what a duration looks like
        too_low = seconds <= self.low if self.above else seconds < self.low
        if too_low or seconds > self.high:
            start = "above" if self.above else "from"
            raise ValueError(
                f"expected a duration {start} {self.low:g} s to {self.high:g} s, got {seconds:g} s"
            )
        return seconds


@dataclass(frozen=True)
class Text(Kind):
    """A string."""

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r:.40}")
        return value


@dataclass(frozen=True)
class Url(Text):
    """An http(s) URL; one with a password is accepted (redacted wherever it is shown)."""

    def check(self, value: Any) -> str:
        return http_url(super().check(value))


@dataclass(frozen=True)
class Choice(Text):
    """One of ``choices``."""

    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"expected {' or '.join(self.choices)}, got {value!r:.40}")
        return str(value)


@dataclass(frozen=True)
class Scenario(Text):
    """A built-in scenario, or a locustfile (``.py``) that exists (from the current folder)."""

    def check(self, value: Any) -> str:
        from slocheck.load.scenarios import SCENARIOS

        text = super().check(value)
        if text not in SCENARIOS and not (text.endswith(".py") and Path(text).is_file()):
            raise ValueError(
                f"expected {', '.join(SCENARIOS)} or a locustfile (.py) that exists, "
                f"got {printable(text)!r:.80}"
            )
        return text


@dataclass(frozen=True)
class Switch(Kind):
    """On or off (a flag on the command line)."""

    def check(self, value: Any) -> bool:
        return bool(value)


@dataclass(frozen=True)
class Bind(Kind):
    """``HOST:PORT`` to listen on (``*`` or an address of this machine), or a ``(host,
    port)`` pair."""

    flag: str = "--master-bind"

    def check(self, value: Any) -> tuple[str, int]:
        if isinstance(value, tuple) and len(value) == 2:
            host, port = value
            if isinstance(host, str) and isinstance(port, int) and not isinstance(port, bool):
                return listen_address(f"{host}:{port}" if ":" not in host else f"[{host}]:{port}")
        if not isinstance(value, str):
            raise ValueError(f"expected HOST:PORT, got {value!r:.40}")
        return listen_address(value, self.flag)


def listen_address(text: str, flag: str = "--master-bind") -> tuple[str, int]:
    """``HOST:PORT`` to listen on, ``*`` or an address of this machine, checked here (a host
    that does not resolve, or is not this machine's, is this option's error, not a resolver's
    sentence later); ValueError otherwise."""
    import socket

    from slocheck.load.distributed import parse_master

    try:
        host, port = parse_master(text, flag)
    except UsageError as e:
        raise ValueError(e.message.removeprefix(f"{flag}: ")) from None
    if host in ("*", "0.0.0.0", "::"):
        return host, port
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address[0], 0))  # a port of its own: only the address is checked
    except (OSError, UnicodeError, IndexError) as e:
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ValueError(
            f"cannot listen on {host!r:.60} ({reason}): give * or an address of this "
            "machine, like 0.0.0.0:5557 or 10.0.0.5:5557"
        ) from None
    return host, port
