"""TODO(issue 15): the fastapi-instrumentator preset."""

from slocheck.spec.presets.base import Preset

PRESET = Preset(
    name="fastapi-instrumentator",
    description="TODO",
    sources=(),
    route_label=None,
    requests=None,
    latency=None,
)
