"""TODO(issue 15): the triton preset, names from the project's own docs or source."""

from slocheck.spec.presets.base import Preset

PRESET = Preset(
    name="triton",
    description="TODO",
    sources=(),
    route_label=None,
    requests=None,
    latency=None,
)
