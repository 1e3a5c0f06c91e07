"""The import-linter contracts (pyproject.toml) name every module and package at the top of
``slocheck``: a new package has to take its place in the layers (docs/architecture.md)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import slocheck

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _contracts() -> list[dict[str, Any]]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config: dict[str, Any] = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    assert config["root_package"] == "slocheck"
    contracts: list[dict[str, Any]] = config["contracts"]
    return contracts


def test_the_layers_name_every_top_level_module_and_package() -> None:
    [layers] = [c["layers"] for c in _contracts() if c["type"] == "layers"]
    named = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}
    top = {f"slocheck.{m.name}" for m in pkgutil.iter_modules(slocheck.__path__)}
    assert named == top


def test_no_circle_anywhere_in_the_package() -> None:
    assert any(
        c["type"] == "acyclic_siblings" and c["ancestors"] == ["slocheck"] for c in _contracts()
    )


def test_the_documented_import_table_is_the_code() -> None:
    """docs/architecture.md's "Who imports whom" is generated from the code; a package that
    starts importing another (or stops) makes this fail until the table is rewritten."""
    script = Path(__file__).parents[2] / "scripts" / "architecture.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
