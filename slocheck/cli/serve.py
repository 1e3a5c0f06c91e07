"""``slocheck serve`` on the command line: the reference service's flags and its exit code."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from slocheck.cli.common import Parser, typed
from slocheck.errors import ExitCode, ServiceStartError, UsageError
from slocheck.units import parse_duration, parse_ratio

if TYPE_CHECKING:
    from slocheck.service.config import ServiceConfig


def add_serve(sub: argparse._SubParsersAction[Parser]) -> None:
    from slocheck.service.config import (
        BACKEND_CHOICES,
        DEVICE_CHOICES,
        MODEL_CHOICES,
        ServiceConfig,
    )

    d = ServiceConfig()
    p = sub.add_parser(
        "serve",
        help="run the reference instrumented inference service",
        description="Run the reference instrumented inference service.",
    )
    p.add_argument("--host", default=d.host, help="address to listen on (default %(default)s)")
    p.add_argument(
        "--port", type=int, default=d.port, help="port (default %(default)s; 0 picks one)"
    )
    p.add_argument("--model", choices=MODEL_CHOICES, default=d.model, help="which models to serve")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default=d.backend, help="the math library")
    p.add_argument(
        "--device", choices=DEVICE_CHOICES, default=d.device, help="torch: where the models run"
    )
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=d.max_batch_size,
        help="largest batch (1 turns batching off; default %(default)s)",
    )
    p.add_argument(
        "--max-batch-wait-ms",
        type=float,
        default=d.max_batch_wait_ms,
        help="longest wait for a batch to fill (default %(default)s)",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=d.max_queue,
        help="queued requests per model before 503 (default %(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=d.threads,
        help="math-library threads per model call (default %(default)s; 0: one per core)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=d.max_body_bytes,
        help="largest request body; a larger one is answered 413",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the model weights")
    p.add_argument(
        "--fault-error-rate",
        type=typed(parse_ratio, "ratio"),
        default=0.0,
        help="share of inference requests answered 500 (0.05 or 5%%)",
    )
    p.add_argument(
        "--fault-latency",
        type=typed(parse_duration, "duration"),
        default=0.0,
        help="model time added to inference requests (200ms): their batch holds the model "
        "worker that much longer, so it costs capacity like a slower model",
    )
    p.add_argument(
        "--fault-latency-probability",
        type=typed(parse_ratio, "ratio"),
        default=1.0,
        help="share of requests that get --fault-latency (default 1)",
    )
    p.add_argument(
        "--fault-token-latency",
        type=typed(parse_duration, "duration"),
        default=0.0,
        help="time added to every later token of a stream (20ms): the gaps between tokens "
        "grow, the time to the first token does not",
    )
    p.add_argument(
        "--fault-crash-after",
        type=int,
        default=None,
        help="exit abruptly when this many inference requests were served",
    )
    p.add_argument(
        "--fault-stall-every",
        type=typed(parse_duration, "duration"),
        default=0.0,
        help="stall the whole service every this often (10s); with --fault-stall-for",
    )
    p.add_argument(
        "--fault-stall-for",
        type=typed(parse_duration, "duration"),
        default=0.0,
        help="how long each stall lasts (2s): requests arriving meanwhile wait until it ends",
    )
    p.add_argument("--fault-seed", type=int, default=None, help="seed of the fault draws")
    p.add_argument("--enable-admin", action="store_true", help="enable POST /admin/faults")
    p.add_argument(
        "--log-level",
        default=d.log_level,
        choices=("debug", "info", "warning", "error", "critical"),
        help="the server's log level",
    )
    p.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="log no line per request (default: one line per request)",
    )
    p.add_argument(
        "--service-name", default=d.service_name, help="the name GET / and the traces give"
    )
    p.set_defaults(handler=_cmd_serve)


def service_config_from_args(args: argparse.Namespace) -> ServiceConfig:
    """The :class:`ServiceConfig` that ``slocheck serve`` arguments describe."""
    from slocheck.service import ConfigError, FaultConfig, ServiceConfig

    try:
        faults = FaultConfig(
            error_rate=args.fault_error_rate,
            latency=args.fault_latency,
            latency_probability=args.fault_latency_probability,
            token_latency=args.fault_token_latency,
            crash_after=args.fault_crash_after,
            stall_every=args.fault_stall_every,
            stall_for=args.fault_stall_for,
            seed=args.fault_seed,
        )
        return ServiceConfig(
            host=args.host,
            port=args.port,
            model=args.model,
            backend=args.backend,
            device=args.device,
            max_batch_size=args.max_batch_size,
            max_batch_wait_ms=args.max_batch_wait_ms,
            max_queue=args.max_queue,
            threads=args.threads,
            max_body_bytes=args.max_body_bytes,
            seed=args.seed,
            faults=faults,
            enable_admin=args.enable_admin,
            log_level=args.log_level,
            access_log=args.access_log,
            service_name=args.service_name,
        )
    except ConfigError as e:
        flag = e.field.removeprefix("faults.").replace("_", "-")
        prefix = "fault-" if e.field.startswith("faults.") else ""
        raise UsageError(f"--{prefix}{flag}: {e.message}") from e


def _cmd_serve(args: argparse.Namespace) -> int:
    from slocheck.service import ServeError, serve

    config = service_config_from_args(args)
    try:
        serve(config)
    except ServeError as e:
        if e.kind == "usage":
            raise UsageError(str(e)) from e
        raise ServiceStartError(str(e)) from e
    return ExitCode.OK
