"""The import-linter contracts (pyproject.toml) name every module and package at the top of
``slocheck``: a new package has to take its place in the layers (docs/architecture.md)."""

from __future__ import annotations

import pkgutil
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
