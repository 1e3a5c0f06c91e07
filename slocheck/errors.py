"""The exception tree of slocheck and the exit codes it maps to.

Exit codes are defined here and nowhere else:

* ``0`` every SLO (and regression check) met;
* ``1`` an SLO or a regression check failed -- a *result*, never an exception;
* ``2`` bad usage or an invalid spec (:class:`UsageError`, :class:`SpecError`);
* ``3`` infrastructure error: Prometheus unreachable, the service failed to start,
  the load generator died (:class:`InfrastructureError`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes a CI job can trust."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INFRASTRUCTURE = 3
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: a partial report marked interrupted is written


class SlocheckError(Exception):
    """Base of every error slocheck raises on purpose."""

    exit_code: ExitCode = ExitCode.INFRASTRUCTURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(SlocheckError):
    """Bad command-line usage: an unknown flag, a bad duration, an impossible option mix."""

    exit_code = ExitCode.USAGE


class SpecError(UsageError):
    """An invalid SLO spec. ``location`` names the file, line and field path."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        super().__init__(message, hint=hint)

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.field:
            parts.append(self.field)
        return ": ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class InfrastructureError(SlocheckError):
    """Something slocheck depends on did not work: exit code 3."""

    exit_code = ExitCode.INFRASTRUCTURE


class ServiceStartError(InfrastructureError):
    """The service under test did not start or never became ready."""


class PrometheusError(InfrastructureError):
    """Prometheus could not be started, reached or understood."""


class LoadGeneratorError(InfrastructureError):
    """The load generator died or could not be started."""


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for any exception; unexpected ones count as infrastructure errors."""
    if isinstance(exc, SlocheckError):
        return exc.exit_code
    return ExitCode.INFRASTRUCTURE
