"""What every benchmark records: where a result came from, and results/NAME.json and .md."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def provenance() -> dict[str, Any]:
    """The command line as run from the project root, the date and the number of cores."""
    script = f"benchmarks/{Path(sys.argv[0]).name}"
    return {
        "command": " ".join([script, *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
    }


def save(name: str, result: dict[str, Any], markdown: str) -> None:
    """Write ``results/NAME.json`` and ``results/NAME.md``, and print the Markdown."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
