"""The reference instrumented inference service (``slocheck serve``).

A standalone server: it imports nothing of the verifier side of slocheck.
"""

from slocheck.service.app import create_app
from slocheck.service.config import ConfigError, FaultConfig, ServiceConfig
from slocheck.service.server import ServeError, ServeResult, serve

__all__ = [
    "ConfigError",
    "FaultConfig",
    "ServeError",
    "ServeResult",
    "ServiceConfig",
    "create_app",
    "serve",
]
