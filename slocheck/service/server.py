"""Run the service on uvicorn, on a socket bound before the server starts."""

from __future__ import annotations

import errno
import logging
import socket
from dataclasses import dataclass

import uvicorn

from slocheck._version import __version__
from slocheck.service.app import create_app
from slocheck.service.config import ServiceConfig
from slocheck.service.logs import configure_logging
from slocheck.service.models import resolve_device

log = logging.getLogger("slocheck.service")


class ServeError(Exception):
    """The service could not start. ``kind`` is ``usage`` (bad option) or ``start``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ServeResult:
    host: str
    port: int


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise ServeError("start", f"port {port} on {host} is already in use") from e
        raise ServeError("start", f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(config: ServiceConfig) -> ServeResult:
    """Serve until SIGINT or SIGTERM. Raises :class:`ServeError` when it cannot start."""
    try:  # fail fast on a backend or device that cannot work, before binding anything
        resolve_device(config.backend, config.device)
    except RuntimeError as e:
        raise ServeError("usage", str(e)) from e
    configure_logging(config.service_name, __version__, config.log_level)
    sock = bind_socket(config.host, config.port)
    port = int(sock.getsockname()[1])
    log.info("listening", extra={"event": "listening", "host": config.host, "port": port})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
            log_level=config.log_level.lower(),
        )
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if not server.started:
        raise ServeError("start", "the service failed during start-up (see the log above)")
    return ServeResult(config.host, port)
