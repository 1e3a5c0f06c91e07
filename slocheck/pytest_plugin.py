"""The pytest plugin (entry point ``pytest11``, named ``slocheck``): gate a service the test
suite starts on its SLOs, and assert on the verdicts (docs/pytest-plugin.md).

* the ``slocheck`` fixture: ``result = slocheck.run(spec)`` runs the gate of ``slocheck run``
  (the embedded stack when no target URL is given), writes its reports and returns the
  :class:`~slocheck.results.RunResult`; ``slocheck.assert_passed(result)`` fails the test with
  the verdict table;
* the marker ``@pytest.mark.slo("slos.yaml", **overrides)``: the spec (relative to the test
  file's folder) and the run's overrides for the tests it marks;
* the options ``--slo FILE`` (the spec when neither the call nor a marker names one) and
  ``--slocheck-out DIR`` (where the reports go; default the test's ``tmp_path``), and the ini
  options ``slocheck_slo`` and ``slocheck_out``.

An error of slocheck's own (an invalid spec, a service that never became ready, a Prometheus
that died) makes the test an *error*, with slocheck's message, not a failed assertion; Ctrl-C
(or SIGTERM during a gate) stops the load, writes the reports marked interrupted and stops the
session. Each SLO's verdict is recorded as a property of the test (``slo:<name>``), which
``pytest --junitxml`` writes.

Imports nothing heavy until a gate runs: the plugin loads in every pytest session of an
environment where slocheck is installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from slocheck.errors import InfrastructureError, SlocheckError, UsageError

if TYPE_CHECKING:
    from slocheck.results import RunResult
    from slocheck.slofile import LoadedSpec

    SpecLike = str | os.PathLike[str] | Mapping[str, Any] | LoadedSpec

MARKER = "slo"
_GATES = pytest.StashKey[list[tuple[str, str, Path]]]()
_SLOCHECK_ERROR = "slocheck_error"


# -- resolution of the spec and the overrides (pure) ------------------------------------------


@dataclass(frozen=True)
class SpecSource:
    """Where a gate's spec comes from: exactly one of a file, YAML text or a loaded spec."""

    path: Path | None = None
    text: str | None = None
    loaded: LoadedSpec | None = None
    #: who named it: "call", "marker", "--slo" or "ini"
    origin: str = "call"


@dataclass(frozen=True)
class Resolved:
    spec: SpecSource
    options: dict[str, Any]


def spec_source(spec: SpecLike, base: Path, origin: str) -> SpecSource:
    """A spec given as a path (relative to ``base``), YAML text (a string with a line break),
    a mapping (dumped to YAML) or a :class:`~slocheck.slofile.LoadedSpec`."""
    from slocheck.slofile import LoadedSpec

    if isinstance(spec, LoadedSpec):
        return SpecSource(loaded=spec, origin=origin)
    if isinstance(spec, Mapping):
        import yaml

        return SpecSource(text=yaml.safe_dump(dict(spec), sort_keys=False), origin=origin)
    if isinstance(spec, str) and "\n" in spec:
        return SpecSource(text=spec, origin=origin)
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec).expanduser()
        return SpecSource(path=path if path.is_absolute() else base / path, origin=origin)
    raise UsageError(
        f"slocheck: the spec must be a path, YAML text, a mapping or a LoadedSpec, "
        f"not {type(spec).__name__}"
    )


def checked_overrides(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The overrides with their types checked and durations parsed (``"8s"`` or seconds), as
    :class:`~slocheck.RunOptions` checks them; None values are dropped (not given)."""
    from slocheck.results.run_settings import settings  # here: the plugin loads light

    return settings(values, where)


def resolve(
    spec: SpecLike | None,
    overrides: Mapping[str, Any],
    *,
    marker: pytest.Mark | None,
    option: str | None,
    ini: str | None,
    test_dir: Path,
    invocation_dir: Path,
    ini_dir: Path,
) -> Resolved:
    """The spec and the overrides of one gate. The spec: the call's, else the closest
    ``slo`` marker's, else ``--slo``, else the ini option ``slocheck_slo``; a relative path is
    relative to the test file's folder when the test names it (call or marker), to the folder
    pytest was started in for ``--slo``, to the ini file's folder for ``slocheck_slo``. The
    overrides: the marker's keyword arguments, each replaced by the call's when given."""
    if marker is not None and len(marker.args) > 1:
        raise UsageError(
            f"@pytest.mark.slo takes one spec and keyword overrides, got {len(marker.args)} "
            "positional arguments"
        )
    marked = dict(marker.kwargs) if marker is not None else {}
    options = checked_overrides(marked, "@pytest.mark.slo")
    options.update(checked_overrides(overrides, "slocheck.run"))
    if spec is not None:
        source = spec_source(spec, test_dir, "call")
    elif marker is not None and marker.args:
        source = spec_source(marker.args[0], test_dir, "marker")
    elif option:
        source = spec_source(option, invocation_dir, "--slo")
    elif ini:
        source = spec_source(ini, ini_dir, "ini")
    else:
        raise UsageError(
            "slocheck: no SLO spec for this gate",
            hint="give slocheck.run(SPEC), @pytest.mark.slo(FILE), --slo FILE or the ini "
            "option slocheck_slo",
        )
    return Resolved(source, options)


def load(source: SpecSource) -> LoadedSpec:
    from slocheck.slofile import load_spec, parse_spec

    if source.loaded is not None:
        return source.loaded
    if source.text is not None:
        return parse_spec(source.text)
    assert source.path is not None
    return load_spec(source.path)


def node_folder(nodeid: str) -> str:
    """A folder name for a test: its node id with everything but ``[A-Za-z0-9_.-]`` as ``_``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_.") or "test"
    return name[:150]


# -- verdicts as test outcomes ----------------------------------------------------------------


def passed(result: RunResult, *, allow_warn: bool = True) -> bool:
    """Whether a run's gate passed: ``pass`` (or ``warn``, unless ``allow_warn`` is False)."""
    return result.verdict == "pass" or (allow_warn and result.verdict == "warn")


def assert_passed(result: RunResult, *, allow_warn: bool = True) -> None:
    """Raise an AssertionError whose message is the verdict table (each SLO's verdict, value,
    target, samples and explanation; the cross-checks that did not hold) unless the gate
    passed. ``warn`` passes unless ``allow_warn`` is False."""
    __tracebackhide__ = True
    if not passed(result, allow_warn=allow_warn):
        from slocheck.report.gate import gate_text

        raise AssertionError(gate_text(result))


def slo_properties(result: RunResult, run_number: int = 1) -> list[tuple[str, str]]:
    """One ``(slo:<name>, "<verdict>: <value> (target <target>)")`` per SLO, then the run's
    verdict and its reports folder; runs after a test's first are ``slo[2]:<name>``, ..."""
    from slocheck.report.format import result_value_text, target_text

    tag = "slo" if run_number == 1 else f"slo[{run_number}]"
    props = [
        (f"{tag}:{r.name}", f"{r.verdict}: {result_value_text(r)} (target {target_text(r)})")
        for r in (result.verify.results if result.verify is not None else [])
    ]
    suffix = "" if run_number == 1 else f"[{run_number}]"
    props.append((f"slocheck{suffix}:verdict", result.verdict))
    props.append((f"slocheck{suffix}:reports", str(result.out_dir)))
    return props


class Slocheck:
    """The ``slocheck`` fixture: runs gates for one test and keeps their results."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self._request = request
        self._tmp_path = tmp_path
        #: every gate this test ran, in order
        self.results: list[RunResult] = []
        self._runs = 0  # gates started, failed ones included: each gets its own folder

    @property
    def last(self) -> RunResult | None:
        """The latest gate's result, if any ran."""
        return self.results[-1] if self.results else None

    def resolve(self, spec: SpecLike | None = None, **overrides: Any) -> Resolved:
        """What :meth:`run` would run: the spec's source and the overrides."""
        config = self._request.config
        node = self._request.node
        return resolve(
            spec,
            overrides,
            marker=node.get_closest_marker(MARKER),
            option=config.getoption("slo"),
            ini=str(config.getini("slocheck_slo") or "") or None,
            test_dir=Path(node.path).parent,
            invocation_dir=config.invocation_params.dir,
            ini_dir=_ini_dir(config),
        )

    def _next_out_dir(self) -> Path:
        """Where the next gate's reports go, each gate a new folder: ``<base>/run-<n>``, the
        base being
        ``--slocheck-out``'s (or ``slocheck_out``'s) folder for this test, or ``tmp_path /
        "slocheck"``."""
        config = self._request.config
        chosen = config.getoption("slocheck_out") or config.getini("slocheck_out") or None
        if chosen:
            root = Path(chosen).expanduser()
            if not root.is_absolute():
                if config.getoption("slocheck_out"):
                    root = config.invocation_params.dir / root
                else:
                    root = _ini_dir(config) / root
            base = root / node_folder(self._request.node.nodeid)
        else:
            base = self._tmp_path / "slocheck"
        self._runs += 1
        return base / f"run-{self._runs}"

    def run(
        self,
        spec: SpecLike | None = None,
        *,
        out_dir: str | os.PathLike[str] | None = None,
        **settings: Any,
    ) -> RunResult:
        """Run the gate of ``slocheck run`` and write its reports (``report.json``,
        ``junit.xml``, ``summary.md``, ``report.html``) into ``out_dir`` (default
        ``tmp_path / "slocheck" / "run-<n>"``, or a folder per test under ``--slocheck-out``).
        ``settings``: the options of :class:`~slocheck.RunOptions`, as ``slocheck run``'s flags
        name them (``target_url``, ``users``, ``rate``, ``duration``, ``arrival``, ...;
        durations as ``"10s"`` or seconds), replacing the marker's. With no ``target_url``
        (here, in the marker or in the spec) it starts the embedded stack. Returns the result
        whatever the verdict; raises InfrastructureError when the run broke (a test error),
        KeyboardInterrupt when it was interrupted (after writing the reports)."""
        from slocheck.results.run_settings import RunOptions
        from slocheck.store.run_record import record_of
        from slocheck.workflows.run import run as run_gate

        resolved = self.resolve(spec, **settings)
        loaded = load(resolved.spec)
        if out_dir is not None:
            self._runs += 1
            out = Path(out_dir)
        else:
            out = self._next_out_dir()
        options = RunOptions(out_dir=out, **resolved.options)
        from slocheck.load import stopping
        from slocheck.report.gate import write_run_reports

        # a stop signal while the reports are written is noted, and ends the session after
        # them: every ending of a gate whose load started writes every report. The deferral
        # lasts until the handlers are back (``after``), so no signal falls in between.
        with contextlib.ExitStack() as after, _sigterm_interrupts(), stopping.in_order():
            seen = len(stopping.received())  # another gate's or command's, not this one's
            result = run_gate(loaded, options, on_phase=_phase)
            after.enter_context(stopping.deferred())
            stopping.pause_for_tests("reports")
            write_run_reports(result, record_of(result))
            stopped = len(stopping.received()) > seen
        self.results.append(result)
        node = self._request.node
        node.user_properties.extend(slo_properties(result, self._runs))
        self._request.config.stash.setdefault(_GATES, []).append((node.nodeid, result.verdict, out))
        if result.verdict == "interrupted" or stopped:
            raise KeyboardInterrupt
        if result.verdict == "error":
            raise InfrastructureError(f"{result.error} (reports in {out})")
        return result

    def assert_passed(self, result: RunResult | None = None, *, allow_warn: bool = True) -> None:
        """:func:`assert_passed` on ``result`` (default: the latest gate's)."""
        __tracebackhide__ = True
        chosen = result if result is not None else self.last
        if chosen is None:
            raise UsageError("slocheck.assert_passed(): no gate has run in this test")
        assert_passed(chosen, allow_warn=allow_warn)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While a gate runs, SIGTERM (a CI job cancelled) stops it as Ctrl-C does: the load
    stops, the reports are written, every child process is stopped. pytest's own handling
    (none: it dies at once) is back afterwards."""
    ignored = signal.getsignal(signal.SIGTERM) == signal.SIG_IGN  # left ignored
    if threading.current_thread() is not threading.main_thread() or ignored:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ini_dir(config: pytest.Config) -> Path:
    """The folder the ini options' paths are relative to: the ini file's (else rootdir)."""
    return config.inipath.parent if config.inipath is not None else config.rootpath


def _phase(text: str) -> None:
    # captured by pytest: shown with a failing test's output
    print(f"slocheck: {text}", file=sys.stderr)


# -- hooks ------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slocheck", "SLO gates (slocheck)")
    group.addoption(
        "--slo",
        metavar="FILE",
        default=None,
        help="the SLO spec the slocheck fixture gates with when neither slocheck.run(SPEC) nor "
        "@pytest.mark.slo(FILE) names one",
    )
    group.addoption(
        "--slocheck-out",
        metavar="DIR",
        default=None,
        dest="slocheck_out",
        help="write each gate's reports under DIR/<test>/run-<n> (default: the test's tmp_path)",
    )
    parser.addini("slocheck_slo", "the default SLO spec (as --slo), relative to the ini file")
    parser.addini("slocheck_out", "where the gates' reports go (as --slocheck-out)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slo(spec, **overrides): the SLO spec (a path relative to the test file) and the run "
        "overrides (duration, rate, users, target_url, ...) of the slocheck fixture",
    )


@pytest.fixture
def slocheck(request: pytest.FixtureRequest, tmp_path: Path) -> Slocheck:
    """Run slocheck gates in a test: ``result = slocheck.run(spec)``, then
    ``slocheck.assert_passed(result)``."""
    return Slocheck(request, tmp_path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    excinfo = call.excinfo
    if (
        excinfo is not None
        and call.when == "call"
        and "slocheck" in getattr(item, "fixturenames", ())
        and excinfo.errisinstance(SlocheckError)
    ):
        # slocheck's own errors are errors of the test's setting, not failed assertions: its
        # message, where the test called it, no traceback through slocheck
        entries = [e for e in excinfo.traceback if Path(e.path) == item.path]
        where = f"{item.path}:{entries[-1].lineno + 1}: " if entries else ""
        report.longrepr = f"{where}slocheck: {type(excinfo.value).__name__}: {excinfo.value}"
        setattr(report, _SLOCHECK_ERROR, True)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    if report.when == "call" and report.failed and getattr(report, _SLOCHECK_ERROR, False):
        return "error", "E", "ERROR"
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    gates = config.stash.get(_GATES, [])
    if not gates:
        return
    terminalreporter.section("slocheck gates")
    for nodeid, verdict, out in gates:
        terminalreporter.write_line(f"{verdict.upper():<12} {nodeid} (reports in {out})")
