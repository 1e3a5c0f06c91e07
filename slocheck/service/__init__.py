"""The reference instrumented inference service (``slocheck serve``).

A standalone server: it imports nothing of the verifier side of slocheck. Its public names are
imported lazily: ``slocheck.service.config`` (what ``slocheck run`` and the CLI's parser need)
must not pull in the web app, numpy and the model code (~0.15 s before every run starts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slocheck.service.app import create_app
    from slocheck.service.config import ConfigError, FaultConfig, ServiceConfig
    from slocheck.service.server import ServeError, ServeResult, serve

_EXPORTS = {
    "create_app": "slocheck.service.app",
    "ConfigError": "slocheck.service.config",
    "FaultConfig": "slocheck.service.config",
    "ServiceConfig": "slocheck.service.config",
    "ServeError": "slocheck.service.server",
    "ServeResult": "slocheck.service.server",
    "serve": "slocheck.service.server",
}

__all__ = [
    "ConfigError",
    "FaultConfig",
    "ServeError",
    "ServeResult",
    "ServiceConfig",
    "create_app",
    "serve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'slocheck.service' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
