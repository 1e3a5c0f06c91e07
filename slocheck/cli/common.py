"""What the command modules of the CLI share: the parser class, argument types, the console,
signal handling and the comparison table (the exit codes are derived from the verdicts:
:func:`slocheck.verdict.exit_code`). Imports no command
module."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from slocheck.errors import UsageError
from slocheck.verdict import Change

if TYPE_CHECKING:
    from rich.console import Console

    from slocheck.regress import Comparison


class DefaultsFormatter(argparse.HelpFormatter):
    """``--help`` names every option's default: appended as ``(default: X)`` where its help
    does not already say it (a flag, ``store_true``, has none to name)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        flag = action.nargs == 0  # store_true, store_false, count, version
        default = action.default
        if (
            "default" in text
            or flag
            or default in (None, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (exit 2) instead of exiting itself; an unknown
    flag names the command's own ``--help`` and the closest flag it has."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._subparsers is None and args is not None:  # a command's parser: name its help
            # before argparse's own checks, which would first say a required flag is missing
            flags = self._long_flags()
            words = list(args)[: list(args).index("--")] if "--" in args else list(args)
            for word in words:
                name = word.split("=", 1)[0]
                if name.startswith("--") and not any(f.startswith(name) for f in flags):
                    self._unknown([word])
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and self._subparsers is None:
            self._unknown(extras)
        return parsed, extras

    def _long_flags(self) -> list[str]:
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]

    def _unknown(self, extras: list[str]) -> None:
        import difflib

        word = extras[0]
        flags = self._long_flags()
        name = word.split("=", 1)[0]
        close = difflib.get_close_matches(name, flags, n=1, cutoff=0.7) if word[:1] == "-" else []
        what = "unrecognized argument" if len(extras) == 1 else "unrecognized arguments"
        hint = f"did you mean {close[0]}? " if close else ""
        raise UsageError(
            f"{self.prog}: {what}: {' '.join(extras)}",
            hint=f"{hint}see '{self.prog} --help'",
        )


def typed(parse: Callable[[str], object], what: str) -> Callable[[str], object]:
    """An argparse ``type=``: ``parse``'s ValueError becomes a usage error naming ``what``."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"{what}: {e}") from None

    convert.__name__ = what
    return convert


def url_arg(text: str) -> str:
    """A URL; one with a user or password is accepted here (the command line may come from a
    CI secret), and is redacted wherever slocheck shows it."""
    from slocheck.slofile.bounds import http_url

    return http_url(text)


def shown_seconds(seconds: float) -> str:
    """``604800`` -> ``7d``, ``3600`` -> ``1h``, ``0.5`` -> ``500ms``: a bound, as people write
    it in a flag."""
    from slocheck.slofile.bounds import bound_text

    return bound_text(seconds)


def _plain(number: float) -> str:
    return f"{number:.0f}" if float(number).is_integer() else f"{number:g}"


def number_in(
    low: float, high: float, *, integer: bool = False, above: bool = False
) -> Callable[[str], object]:
    """An argparse ``type=``: a finite number from ``low`` (excluded when ``above``) to ``high``;
    argparse names the flag in the error (``argument --users: expected ...``)."""
    what = "a whole number" if integer else "a number"
    start = f"above {_plain(low)}" if above else f"from {_plain(low)}"
    bounds = f"{what} {start} to {_plain(high)}"

    def convert(text: str) -> object:
        try:
            value: float = int(text, 10) if integer else float(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {bounds}, got {text!r:.40}") from None
        # an int is compared as it is (math.isfinite overflows on a huge one)
        finite = integer or math.isfinite(value)
        if not finite or value > high or value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"expected {bounds}, got {text!r:.40}")
        return value

    convert.__name__ = what
    return convert


def duration_in(low: float, high: float, *, above: bool = False) -> Callable[[str], object]:
    """An argparse ``type=``: a duration (``30s``, ``5m``) from ``low`` (excluded when
    ``above``) to ``high``."""
    from slocheck.units import parse_duration

    start = f"above {shown_seconds(low)}" if above else f"from {shown_seconds(low)}"
    bounds = f"a duration {start} to {shown_seconds(high)}"

    def convert(text: str) -> object:
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {bounds} (like 30s or 5m), got {text!r:.40}"
            ) from None
        if seconds > high or seconds < low or (above and seconds == low):
            raise argparse.ArgumentTypeError(f"expected {bounds}, got {text!r:.40}")
        return seconds

    convert.__name__ = "duration"
    return convert


def shown(text: str) -> str:
    """``text`` as slocheck prints it: no password in any URL, no control character (an SLO
    name in a message can neither colour nor retitle the terminal); line breaks kept."""
    from slocheck.units import printable, redact_urls

    return "\n".join(printable(line) for line in redact_urls(text).split("\n"))


_WARNED: set[str] = set()


def warn(message: str) -> None:
    """A warning on stderr (a history row skipped, ...), once, with no control character."""
    from slocheck.units import printable

    if message not in _WARNED:
        _WARNED.add(message)
        print(f"slocheck: warning: {printable(message)}", file=sys.stderr)


def new_console() -> Console:
    """Rich output; a fixed, wide layout when not a terminal (CI logs)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


def stop_on_signals() -> None:
    """SIGINT and SIGTERM stop the run in order, with a partial report: the first raises
    KeyboardInterrupt, a later one is only noted until the reports are written
    (:mod:`slocheck.load.stopping`). Both, explicitly: a shell starts background jobs with
    SIGINT ignored, and CI runners cancel with SIGTERM."""
    from slocheck.load import stopping

    stopping.install()


def append_step_summary(markdown: str) -> None:
    """Add ``markdown`` to the GitHub Actions job summary when there is one."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(markdown)


STYLES = {
    Change.REGRESSED: "bold red",
    Change.INCONCLUSIVE: "yellow",
    Change.IMPROVED: "green",
    Change.UNCHANGED: "default",
    Change.NO_BASELINE: "yellow",
}


def comparison_table(c: Comparison) -> Table:
    table = Table(
        title=f"compare: {c.verdict.upper()} ({', '.join(c.current.split(','))} vs "
        f"{', '.join(c.baseline) or 'no baseline'})",
        title_justify="left",
    )
    for col in ("metric", "verdict", "baseline", "current", "change (95% CI)", "tolerance"):
        table.add_column(col)
    for m in c.metrics:
        if m.unit == "points":
            base, cur = f"{m.baseline * 100:.3f}%", f"{m.current * 100:.3f}%"
            change = f"{m.change * 100:+.3f} pts [{m.ci_low * 100:+.3f}, {m.ci_high * 100:+.3f}]"
            tol = f"+{m.tolerance * 100:g} pts"
        else:
            scale, unit = (1000.0, " ms") if m.unit == "seconds" else (1.0, "/s")
            base, cur = f"{m.baseline * scale:,.2f}{unit}", f"{m.current * scale:,.2f}{unit}"
            change = f"{m.change:+.1%} [{m.ci_low:+.1%}, {m.ci_high:+.1%}]"
            tol = f"{'-' if m.metric == 'throughput' else '+'}{m.tolerance:.0%}"
        table.add_row(m.metric, f"[{STYLES[m.verdict]}]{m.verdict}[/]", base, cur, change, tol)
    return table


def print_comparison(c: Comparison, console: Console) -> None:
    console.print(comparison_table(c))
    for m in c.metrics:
        if m.verdict in (Change.REGRESSED, Change.INCONCLUSIVE):
            console.print(f"  {m.verdict}: {escape(m.explanation)}")
    for note in c.notes:
        console.print(f"[yellow]warning[/]: {escape(note)}")
