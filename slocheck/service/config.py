"""Configuration of the reference inference service, settable from Python and the CLI.

``slocheck run`` builds a :class:`ServiceConfig` from a spec's ``service:`` block and starts
``slocheck serve`` with :meth:`ServiceConfig.to_cli_args`; tests build one directly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from slocheck.units import parse_duration, parse_ratio

ModelChoice = Literal["classifier", "generator", "both"]
BackendChoice = Literal["numpy", "torch"]
DeviceChoice = Literal["auto", "cpu", "cuda"]

MODEL_CHOICES: tuple[str, ...] = ("classifier", "generator", "both")
BACKEND_CHOICES: tuple[str, ...] = ("numpy", "torch")
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """An invalid service option; ``field`` names it (``faults.error_rate``)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class FaultConfig:
    """Faults injected into inference requests (never into health, metrics or admin routes).

    * ``error_rate``: probability that a request is answered 500 instead of being served;
    * ``latency`` seconds added to a request's model time, with probability
      ``latency_probability``: the batch that holds the request keeps the model worker that
      much longer, as a slower model or a busier GPU would, so the fault costs serving capacity
      (a request's batch-mates wait for it too; a stream's first token, not its later ones);
    * ``token_latency`` seconds added to every later token of a stream (each decode step after
      the first holds its batch that much longer, as a slower decode would): the gaps between
      tokens grow, the time to the first token does not;
    * ``crash_after``: the process exits abruptly when request ``crash_after + 1`` arrives;
    * ``stall_every`` / ``stall_for``: every ``stall_every`` seconds (counted from when the
      faults were set) the whole service stalls for ``stall_for`` seconds, as in a GC pause, a
      model reload or a saturated GPU: a request arriving during a stall waits until it ends;
    * ``seed``: makes the random draws repeatable.
    """

    error_rate: float = 0.0
    latency: float = 0.0
    latency_probability: float = 1.0
    token_latency: float = 0.0
    crash_after: int | None = None
    stall_every: float = 0.0
    stall_for: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.error_rate, (int, float)) and 0.0 <= self.error_rate <= 1.0):
            raise ConfigError(
                "faults.error_rate", f"expected a ratio in [0, 1], got {self.error_rate!r}"
            )
        if not (
            isinstance(self.latency, (int, float))
            and math.isfinite(self.latency)
            and 0.0 <= self.latency <= 600.0
        ):
            raise ConfigError(
                "faults.latency", f"expected a duration in [0s, 600s], got {self.latency!r}"
            )
        if not (
            isinstance(self.token_latency, (int, float))
            and math.isfinite(self.token_latency)
            and 0.0 <= self.token_latency <= 60.0
        ):
            raise ConfigError(
                "faults.token_latency",
                f"expected a duration in [0s, 60s], got {self.token_latency!r}",
            )
        if not (
            isinstance(self.latency_probability, (int, float))
            and 0.0 <= self.latency_probability <= 1.0
        ):
            raise ConfigError(
                "faults.latency_probability",
                f"expected a ratio in [0, 1], got {self.latency_probability!r}",
            )
        if self.crash_after is not None and (
            isinstance(self.crash_after, bool)
            or not isinstance(self.crash_after, int)
            or self.crash_after < 0
        ):
            raise ConfigError(
                "faults.crash_after",
                f"expected a whole number of requests >= 0, got {self.crash_after!r}",
            )

        for name in ("stall_every", "stall_for"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 3600.0):
                raise ConfigError(f"faults.{name}", f"expected a duration in [0s, 1h], got {v!r}")
        if (self.stall_every > 0) != (self.stall_for > 0):
            raise ConfigError(
                "faults.stall_for" if self.stall_every else "faults.stall_every",
                "stall_every and stall_for go together (every 10s, for 2s)",
            )
        if self.stall_for and self.stall_for >= self.stall_every:
            raise ConfigError(
                "faults.stall_for",
                f"a stall of {self.stall_for:g} s every {self.stall_every:g} s never ends: "
                "stall_for must be shorter than stall_every",
            )

    @property
    def active(self) -> bool:
        return (
            self.error_rate > 0
            or self.latency > 0
            or self.token_latency > 0
            or self.crash_after is not None
            or self.stall_every > 0
        )

    def stall_wait(self, elapsed: float) -> float:
        """Seconds a request arriving ``elapsed`` seconds after the faults were set waits for
        the stall it falls into: stalls run over ``[k * every, k * every + for)``, k >= 1."""
        if self.stall_every <= 0 or elapsed < self.stall_every:
            return 0.0
        into = elapsed % self.stall_every
        return self.stall_for - into if into < self.stall_for else 0.0

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], *, base: FaultConfig | None = None
    ) -> FaultConfig:
        """Build from JSON/YAML data such as ``{"error_rate": "5%", "latency": "200ms"}``.

        Keys absent from ``data`` keep their value from ``base`` (or the default).
        """
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(
                    f"faults.{key}", f"unknown field; expected one of {sorted(known)}"
                )
        values: dict[str, object] = {}
        parsers = (
            ("error_rate", parse_ratio),
            ("latency_probability", parse_ratio),
            ("latency", parse_duration),
            ("token_latency", parse_duration),
            ("stall_every", parse_duration),
            ("stall_for", parse_duration),
        )
        for key, parse in parsers:
            if key in data:
                try:
                    values[key] = parse(data[key])
                except ValueError as e:
                    raise ConfigError(f"faults.{key}", str(e)) from e
        for key in ("crash_after", "seed"):
            if key in data:
                raw = data[key]
                if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
                    raise ConfigError(f"faults.{key}", f"expected a whole number, got {raw!r}")
                values[key] = raw
        return replace(base or cls(), **values)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return {
            "error_rate": self.error_rate,
            "latency": self.latency,
            "latency_probability": self.latency_probability,
            "token_latency": self.token_latency,
            "crash_after": self.crash_after,
            "stall_every": self.stall_every,
            "stall_for": self.stall_for,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class ServiceConfig:
    """Every option of ``slocheck serve``."""

    host: str = "127.0.0.1"
    port: int = 8000
    model: ModelChoice = "both"
    backend: BackendChoice = "numpy"
    device: DeviceChoice = "auto"
    max_batch_size: int = 32
    max_batch_wait_ms: float = 2.0
    max_queue: int = 512
    # math-library threads (BLAS, torch intra-op) per model call; 0 keeps the library's own
    # default (one per core). 1 by default: each model has one batch worker already, and
    # threads that spin-wait for a core another process holds stall every call (seen: P95
    # 12 ms -> 260 ms with one of two cores busy)
    threads: int = 1
    max_body_bytes: int = 4 * 1024 * 1024
    seed: int = 0
    faults: FaultConfig = field(default_factory=FaultConfig)
    enable_admin: bool = False
    log_level: str = "info"
    access_log: bool = True
    service_name: str = "slocheck-serve"

    def __post_init__(self) -> None:
        if self.model not in MODEL_CHOICES:
            raise ConfigError("model", f"expected one of {list(MODEL_CHOICES)}, got {self.model!r}")
        if self.backend not in BACKEND_CHOICES:
            raise ConfigError(
                "backend", f"expected one of {list(BACKEND_CHOICES)}, got {self.backend!r}"
            )
        if self.device not in DEVICE_CHOICES:
            raise ConfigError(
                "device", f"expected one of {list(DEVICE_CHOICES)}, got {self.device!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"expected 0-65535, got {self.port}")
        if not 1 <= self.max_batch_size <= 4096:
            raise ConfigError("max_batch_size", f"expected 1-4096, got {self.max_batch_size}")
        if not (math.isfinite(self.max_batch_wait_ms) and 0 <= self.max_batch_wait_ms <= 10_000):
            raise ConfigError(
                "max_batch_wait_ms", f"expected 0-10000, got {self.max_batch_wait_ms}"
            )
        if not 1 <= self.max_queue <= 1_000_000:
            raise ConfigError("max_queue", f"expected 1-1000000, got {self.max_queue}")
        if isinstance(self.threads, bool) or not 0 <= self.threads <= 1024:
            raise ConfigError("threads", f"expected 0-1024, got {self.threads!r}")
        if not 1024 <= self.max_body_bytes <= 1 << 30:
            raise ConfigError(
                "max_body_bytes", f"expected 1024 bytes to 1 GiB, got {self.max_body_bytes}"
            )
        if self.log_level.lower() not in ("debug", "info", "warning", "error", "critical"):
            raise ConfigError(
                "log_level", f"expected debug/info/warning/error, got {self.log_level!r}"
            )

    @property
    def models(self) -> tuple[str, ...]:
        return ("classifier", "generator") if self.model == "both" else (self.model,)

    def to_cli_args(self) -> list[str]:
        """The ``slocheck serve`` arguments that reproduce this configuration."""
        args = [
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--model",
            self.model,
            "--backend",
            self.backend,
            "--device",
            self.device,
            "--max-batch-size",
            str(self.max_batch_size),
            "--max-batch-wait-ms",
            repr(self.max_batch_wait_ms),
            "--max-queue",
            str(self.max_queue),
            "--threads",
            str(self.threads),
            "--max-body-bytes",
            str(self.max_body_bytes),
            "--seed",
            str(self.seed),
            "--log-level",
            self.log_level,
            "--service-name",
            self.service_name,
        ]
        f = self.faults
        if f.error_rate:
            args += ["--fault-error-rate", repr(f.error_rate)]
        if f.latency:
            args += ["--fault-latency", repr(f.latency)]
            args += ["--fault-latency-probability", repr(f.latency_probability)]
        if f.token_latency:
            args += ["--fault-token-latency", repr(f.token_latency)]
        if f.crash_after is not None:
            args += ["--fault-crash-after", str(f.crash_after)]
        if f.stall_every:
            args += ["--fault-stall-every", repr(f.stall_every)]
            args += ["--fault-stall-for", repr(f.stall_for)]
        if f.seed is not None:
            args += ["--fault-seed", str(f.seed)]
        if self.enable_admin:
            args.append("--enable-admin")
        if not self.access_log:
            args.append("--no-access-log")
        return args
