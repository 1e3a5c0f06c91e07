"""``slocheck convert`` on the command line: a spec in another SLO format (OpenSLO v1)."""

from __future__ import annotations

import argparse
import sys

from slocheck.cli.common import Parser
from slocheck.errors import ExitCode


def add_convert(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser(
        "convert",
        help="write an SLO file (slocheck, OpenSLO or Sloth) as OpenSLO v1",
        description="Write the SLOs of a spec (any format slocheck reads) as an OpenSLO v1 "
        "stream: a Service and one SLO per slocheck SLO, over the series the verifier reads. "
        "SLOs OpenSLO cannot express are left out and named on stderr.",
    )
    p.add_argument("--slo", required=True, metavar="FILE", help="the SLO file (YAML)")
    p.add_argument("--to", required=True, choices=["openslo"], help="the format to write")
    p.add_argument("--out", metavar="FILE", help="write here (default: standard output)")
    p.set_defaults(handler=_cmd_convert)


def _cmd_convert(args: argparse.Namespace) -> int:
    from slocheck.report import write_atomic
    from slocheck.slofile import load_spec
    from slocheck.workflows.convert import to_openslo

    converted = to_openslo(load_spec(args.slo))
    for note in converted.notes:
        print(f"slocheck convert: {note}", file=sys.stderr)
    if args.out:
        write_atomic(args.out, converted.text)
        print(f"slocheck convert: wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(converted.text)
    return ExitCode.OK
