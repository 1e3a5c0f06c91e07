"""Command-line entry point: the parser of every command, and ``main``, which turns errors into
exit codes. The CLI is the only place that prints or exits; one module per command group
(``serve``, ``verify``, ``run``, ``worker``, ``regress``, ``convert``) and their shared helpers
in ``common``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from slocheck._version import __version__
from slocheck.cli.capacity import add_capacity
from slocheck.cli.common import Parser, shown
from slocheck.cli.convert import add_convert
from slocheck.cli.generate import add_generate
from slocheck.cli.init import add_init
from slocheck.cli.regress import add_bench, add_compare, add_history
from slocheck.cli.run import add_run
from slocheck.cli.serve import add_serve, service_config_from_args
from slocheck.cli.sweep import add_sweep
from slocheck.cli.verify import add_validate, add_verify
from slocheck.cli.worker import add_worker
from slocheck.errors import ExitCode, SlocheckError, UsageError, exit_code_for

__all__ = ["build_parser", "main", "service_config_from_args"]


def build_parser() -> Parser:
    parser = Parser(
        prog="slocheck",
        description=(
            "Prove, with a real load and real metrics, that an ML inference service meets its SLOs."
        ),
    )
    parser.add_argument("--version", action="version", version=f"slocheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_serve(sub)
    add_init(sub)
    add_validate(sub)
    add_generate(sub)
    add_verify(sub)
    add_run(sub)
    add_worker(sub)
    add_capacity(sub)
    add_sweep(sub)
    add_compare(sub)
    add_history(sub)
    add_bench(sub)
    add_convert(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        if argv is not None and any("\x00" in a for a in argv):  # only the Python API can
            raise UsageError("an argument contains a NUL byte")
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        code: int = args.handler(args)
        return code
    except SlocheckError as e:
        print(f"slocheck: error: {shown(str(e))}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # a report or file that cannot be written, a child that cannot start
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"slocheck: error: {e.strerror or e}{where}", file=sys.stderr)
        return exit_code_for(e)
    except Exception as e:  # a bug: never exit 1, which means "an SLO failed"
        print(
            f"slocheck: internal error: {type(e).__name__}: {shown(str(e))}\n  please "
            "report it with the "
            "command line and spec",
            file=sys.stderr,
        )
        return exit_code_for(e)
    except KeyboardInterrupt:
        print("slocheck: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
