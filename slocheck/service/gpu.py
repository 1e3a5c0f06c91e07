"""GPU metrics from NVML (the ``gpu`` extra), registered only when a GPU is present."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class NvmlCollector(Collector):
    """Reads every GPU at scrape time: utilisation, memory, temperature."""

    def __init__(self, nvml: Any, count: int) -> None:
        self._nvml = nvml
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        nv = self._nvml
        util = GaugeMetricFamily(
            "gpu_utilization_ratio",
            "GPU busy share over the last sample period (0-1).",
            labels=["gpu"],
        )
        used = GaugeMetricFamily("gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu"])
        total = GaugeMetricFamily("gpu_memory_total_bytes", "GPU memory in all.", labels=["gpu"])
        temp = GaugeMetricFamily("gpu_temperature_celsius", "GPU temperature.", labels=["gpu"])
        for i in range(self._count):
            try:
                handle = nv.nvmlDeviceGetHandleByIndex(i)
                rates = nv.nvmlDeviceGetUtilizationRates(handle)
                mem = nv.nvmlDeviceGetMemoryInfo(handle)
                celsius = nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU)
            except Exception:  # a GPU that stops answering must not break /metrics
                continue
            label = [str(i)]
            util.add_metric(label, rates.gpu / 100.0)
            used.add_metric(label, float(mem.used))
            total.add_metric(label, float(mem.total))
            temp.add_metric(label, float(celsius))
        yield from (util, used, total, temp)


def register_gpu_metrics(registry: CollectorRegistry) -> int:
    """Register the collector when NVML finds at least one GPU; return the GPU count."""
    try:
        import pynvml

        pynvml.nvmlInit()
        count = int(pynvml.nvmlDeviceGetCount())
    except Exception:  # no NVML library, no driver, no GPU: no gpu_* families
        return 0
    if count > 0:
        registry.register(NvmlCollector(pynvml, count))
    return count
