"""What every model of the SLO file shares: the strict, frozen pydantic configuration (unknown
fields and NaN refused; each module's ``_Strict`` base takes it), and the duration and ratio
fields written as people write them (``500ms``, ``99.9%``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ConfigDict

from slocheck.units import parse_duration, parse_ratio

Duration = Annotated[float, BeforeValidator(parse_duration)]
Ratio = Annotated[float, BeforeValidator(parse_ratio)]


STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
