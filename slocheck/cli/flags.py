"""The flags of a run's settings, generated from their declarations
(:mod:`slocheck.results.run_settings`): ``--users`` for ``users``, with its default, help text
and the argparse type that parses the same kind of value from text (argparse then names the
flag in the error: ``argument --users: expected a whole number from 1 to 10000, got '0'``).
Used by ``run``, ``capacity`` and ``bench``; imports only ``common``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from slocheck.cli.common import duration_in, number_in, typed, url_arg
from slocheck.results.option_kinds import (
    Bind,
    Choice,
    Kind,
    Number,
    Seconds,
    Switch,
    Url,
    Whole,
    listen_address,
)
from slocheck.results.run_settings import SETTINGS, Setting


def _from_text(kind: Kind, flag: str) -> Callable[[str], object]:
    """The argparse ``type=`` of a kind (its error is argparse's, naming the flag)."""
    if isinstance(kind, Whole):
        return number_in(kind.low, kind.high, integer=True)
    if isinstance(kind, Number):
        return number_in(kind.low, kind.high, above=kind.above)
    if isinstance(kind, Seconds):
        return duration_in(kind.low, kind.high, above=kind.above)
    if isinstance(kind, Url):
        return typed(url_arg, "URL")
    if isinstance(kind, Bind):
        return _argparse_error(lambda text: listen_address(text, flag), "HOST:PORT")
    return _argparse_error(kind.check, "text")  # a scenario, ...


def _argparse_error(parse: Callable[[str], object], name: str) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = name
    return convert


def add_setting(p: argparse.ArgumentParser, s: Setting) -> None:
    """The flag of one setting."""
    kw: dict[str, Any] = {"help": s.help, "dest": s.name}
    if isinstance(s.kind, Switch):
        p.add_argument(s.flag, action="store_true", **kw)
        return
    if s.default is not None:
        kw["default"] = s.default
    if s.metavar is not None:
        kw["metavar"] = s.metavar
    if isinstance(s.kind, Choice):
        p.add_argument(s.flag, choices=s.kind.choices, **kw)
        return
    p.add_argument(s.flag, type=_from_text(s.kind, s.flag), **kw)


def add_settings(p: argparse.ArgumentParser, names: Iterable[str] | None = None) -> None:
    """The flags of the settings ``names`` (all of them by default), in their declared order."""
    chosen = list(SETTINGS) if names is None else list(names)
    for name in chosen:
        add_setting(p, SETTINGS[name])


def settings_of(args: argparse.Namespace, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The parsed values of the settings ``names`` (all by default) that this command has."""
    chosen = list(SETTINGS) if names is None else list(names)
    return {name: getattr(args, name) for name in chosen if hasattr(args, name)}
