"""``slocheck worker`` on the command line: one Locust worker for ``slocheck run
--expect-workers N`` on another machine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from slocheck.errors import ExitCode, LoadGeneratorError


def add_worker(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "worker",
        help="send load for a `slocheck run --expect-workers N` on another machine",
        description="A Locust worker: downloads the run's load from the master, sends it to the "
        "target, reports every request back, and exits 0 when the master's run ends, 3 when it "
        "cannot reach the master (Locust gives up after 5 minutes) or fails, 130 on Ctrl-C.",
    )
    p.add_argument(
        "--master",
        required=True,
        metavar="HOST:PORT",
        help="the master: the machine running `slocheck run --expect-workers N` (port 5557 "
        "unless it set --master-bind)",
    )
    p.set_defaults(handler=_cmd_worker)


def _cmd_worker(args: argparse.Namespace) -> int:
    from slocheck.cli.common import stop_on_signals
    from slocheck.load.distributed import parse_master
    from slocheck.load.worker import run_worker

    master = parse_master(args.master)
    stop_on_signals()
    print(f"slocheck worker: waiting for the master at {master[0]}:{master[1]}", file=sys.stderr)
    result = run_worker(master)
    if result.interrupted:
        print("slocheck worker: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    if not result.ok:
        raise LoadGeneratorError(
            f"the Locust worker for {master[0]}:{master[1]} exited with {result.returncode}: "
            f"{result.log_tail[-1500:]}"
        )
    print("slocheck worker: the master's run ended", file=sys.stderr)
    return ExitCode.OK
