"""TODO(issue 15): the tgi preset, names from the project's own docs or source."""

from slocheck.spec.presets.base import Preset

PRESET = Preset(
    name="tgi",
    description="TODO",
    sources=(),
    route_label=None,
    requests=None,
    latency=None,
)
