"""Stop signals end a run in order: the first raises KeyboardInterrupt naming it, later ones
are only noted (the reports are still written), and while the reports are written even the
first one is."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from slocheck.load import stopping


@pytest.fixture
def handlers() -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in stopping.STOPS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _deliver(sig: signal.Signals) -> None:
    signal.raise_signal(sig)  # the handler runs before raise_signal returns


def test_the_first_stop_signal_raises_and_later_ones_are_noted(handlers: None) -> None:
    stopping.install()
    with pytest.raises(KeyboardInterrupt) as raised:
        _deliver(signal.SIGTERM)
    assert stopping.signal_name(raised.value) == "SIGTERM"
    _deliver(signal.SIGINT)  # noted: no KeyboardInterrupt
    _deliver(signal.SIGTERM)
    assert stopping.received() == ["SIGTERM", "SIGINT", "SIGTERM"]


def test_while_deferred_even_the_first_is_only_noted(handlers: None) -> None:
    stopping.install()
    with stopping.deferred():
        _deliver(signal.SIGINT)
    assert stopping.received() == ["SIGINT"]


def test_in_order_only_takes_over_signals_that_already_interrupt(handlers: None) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with stopping.in_order():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # left to its default
        with pytest.raises(KeyboardInterrupt):
            _deliver(signal.SIGINT)
        _deliver(signal.SIGINT)
        assert stopping.received() == ["SIGINT", "SIGINT"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_python_s_own_ctrl_c_is_named_sigint() -> None:
    assert stopping.signal_name(KeyboardInterrupt()) == "SIGINT"


def test_the_pause_hook_does_nothing_unless_its_stage_is_named(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stopping.PAUSE_AT, "verifying")
    monkeypatch.setenv(stopping.PAUSE_FILE, f"{tmp_path}/m")
    stopping.pause_for_tests("final-scrape")  # returns at once: not named
    assert not os.path.exists(f"{tmp_path}/m.final-scrape")
