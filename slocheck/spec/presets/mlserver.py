"""TODO(issue 15): the mlserver preset, names from the project's own docs or source."""

from slocheck.spec.presets.base import Preset

PRESET = Preset(
    name="mlserver",
    description="TODO",
    sources=(),
    route_label=None,
    requests=None,
    latency=None,
)
