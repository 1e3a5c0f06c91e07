"""Run-time state of one service instance: models, batchers, faults, health."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slocheck._version import __version__
from slocheck.service.batching import Batcher
from slocheck.service.config import FaultConfig, ServiceConfig
from slocheck.service.metrics import ServiceMetrics
from slocheck.service.models import (
    ClassifierModel,
    FloatArray,
    GeneratorModel,
    Prediction,
    limit_threads,
    load_models,
    tokenize,
)
from slocheck.service.tracing import Tracer

log = logging.getLogger("slocheck.service")

GenItem = tuple["FloatArray | None", Sequence[int]]
GenResult = tuple[FloatArray, int]


def crash_process() -> None:
    """The default ``crash_after`` action: die at once, like a segfaulting model server."""
    for handler in log.handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(1)


@dataclass
class ServiceState:
    config: ServiceConfig
    metrics: ServiceMetrics
    tracer: Tracer
    crash_hook: Callable[[], None] = crash_process
    classifier: ClassifierModel | None = None
    generator: GeneratorModel | None = None
    device: str = "cpu"
    classify_batcher: Batcher[FloatArray, Prediction] | None = None
    generate_batcher: Batcher[GenItem, GenResult] | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    models_loaded: bool = False
    warmed_up: bool = False
    startup_error: str | None = None
    started_at: float = field(default_factory=time.time)
    inference_requests: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _faults_set_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.set_faults(self.config.faults)

    # -- faults -------------------------------------------------------------------------------
    def set_faults(self, faults: FaultConfig) -> None:
        if faults.crash_after != self.faults.crash_after:
            self.inference_requests = 0  # crash_after counts from when it was set
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._faults_set_at = time.monotonic()

    def count_request(self) -> None:
        """Count an inference request; crash when ``crash_after`` requests were served."""
        self.inference_requests += 1
        limit = self.faults.crash_after
        if limit is not None and self.inference_requests > limit:
            log.critical("injected crash after %d requests", limit, extra={"event": "fault_crash"})
            self.crash_hook()

    async def injected_error(self) -> bool:
        """Apply an injected stall; return True when this request must fail with an injected
        500."""
        f = self.faults
        stalled = f.stall_wait(time.monotonic() - self._faults_set_at)
        if stalled > 0:
            await asyncio.sleep(stalled)
        return f.error_rate > 0 and self._rng.random() < f.error_rate

    def model_delay(self) -> float:
        """Seconds of injected latency for one request: its model call takes that much longer
        (the batcher holds its worker), so the fault costs capacity as a slower model would."""
        f = self.faults
        if f.latency > 0 and (
            f.latency_probability >= 1.0 or self._rng.random() < f.latency_probability
        ):
            return f.latency
        return 0.0

    # -- lifecycle ----------------------------------------------------------------------------
    def model_versions(self) -> dict[str, str]:
        out = {}
        if self.classifier is not None:
            out["classifier"] = self.classifier.version
        if self.generator is not None:
            out["generator"] = self.generator.version
        return out

    def batchers(self) -> list[Batcher[Any, Any]]:
        return [b for b in (self.classify_batcher, self.generate_batcher) if b is not None]

    async def start(self) -> None:
        cfg = self.config
        try:
            limit_threads(cfg.threads, cfg.backend)
            self.classifier, self.generator, self.device = await asyncio.to_thread(
                load_models, cfg.models, cfg.backend, cfg.device, cfg.seed
            )
        except Exception as e:
            self.startup_error = f"model load failed: {e}"
            log.error(self.startup_error, exc_info=True)
            raise
        m = self.metrics
        m.initialise(self.model_versions())
        for model in (self.classifier, self.generator):
            if model is not None:
                m.model_info.labels(model.name, model.version, model.backend, model.device).set(1)
        self.models_loaded = True
        wait = cfg.max_batch_wait_ms / 1000.0
        if self.classifier is not None:
            clf = self.classifier
            self.classify_batcher = Batcher(
                "classifier",
                clf.predict,
                max_batch_size=cfg.max_batch_size,
                max_wait_s=wait,
                max_queue=cfg.max_queue,
                on_batch=self._observer("classifier"),
                on_depth=m.queue_depth.labels("classifier").set,
            )
        if self.generator is not None:
            gen = self.generator

            def run_steps(items: Sequence[GenItem]) -> list[GenResult]:
                return gen.step([s for s, _ in items], [t for _, t in items])

            self.generate_batcher = Batcher(
                "generator",
                run_steps,
                max_batch_size=cfg.max_batch_size,
                max_wait_s=wait,
                max_queue=cfg.max_queue,
                on_batch=self._observer("generator"),
                on_depth=m.queue_depth.labels("generator").set,
            )
        for b in self.batchers():
            b.start()
        await self.warm_up()

    def _observer(self, model: str) -> Callable[[int, float], None]:
        size = self.metrics.batch_size.labels(model)
        duration = self.metrics.inference_duration.labels(model)

        def observe(batch_size: int, seconds: float) -> None:
            size.observe(batch_size)
            duration.observe(seconds)

        return observe

    async def warm_up(self) -> None:
        """One real inference through each batcher; readiness waits for it."""
        try:
            if self.classify_batcher is not None:
                await self.classify_batcher.submit(np.full((8, 8), 0.5, dtype=np.float32))
            if self.generate_batcher is not None:
                await self.generate_batcher.submit((None, tokenize("warm up")))
        except Exception as e:
            self.startup_error = f"warm-up inference failed: {e}"
            log.error(self.startup_error, exc_info=True)
            return
        self.warmed_up = True

    async def stop(self) -> None:
        for b in self.batchers():
            await b.stop()

    # -- health -------------------------------------------------------------------------------
    def checks(self) -> dict[str, dict[str, Any]]:
        batchers = self.batchers()
        checks: dict[str, dict[str, Any]] = {
            "model_loaded": {"ok": self.models_loaded, "models": self.model_versions()},
            "warmup": {"ok": self.warmed_up},
            "batchers_running": {
                "ok": self.models_loaded and all(b.running for b in batchers),
            },
        }
        for b in batchers:
            checks[f"queue_{b.name}"] = {
                "ok": not b.saturated,
                "depth": b.depth,
                "max_queue": b.max_queue,
            }
        if self.startup_error:
            checks["startup"] = {"ok": False, "error": self.startup_error}
        return checks

    def live(self) -> tuple[bool, list[str]]:
        # Alive unless a batcher died after start: a hung or dead worker needs a restart.
        if self.models_loaded and not all(b.running for b in self.batchers()):
            return False, ["batchers_running"]
        return True, []

    def started(self) -> tuple[bool, list[str]]:
        failing = [n for n in ("model_loaded", "warmup") if not self.checks()[n]["ok"]]
        return not failing, failing

    def ready(self) -> tuple[bool, list[str]]:
        failing = [name for name, c in self.checks().items() if not c["ok"]]
        return not failing, failing

    def summary(self) -> dict[str, Any]:
        live, _ = self.live()
        started, _ = self.started()
        ready, failing = self.ready()
        return {
            "status": "ok" if ready else "degraded" if live else "down",
            "live": live,
            "started": started,
            "ready": ready,
            "failing": failing,
            "checks": self.checks(),
            "service": self.config.service_name,
            "version": __version__,
            "backend": self.config.backend,
            "device": self.device,
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "faults": self.faults.to_dict() if self.faults.active else None,
        }
