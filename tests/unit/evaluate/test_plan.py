"""The PromQL plans, and the warning for ratio queries that fall into the empty-numerator trap."""

from __future__ import annotations

import pytest

from slocheck.evaluate.plan import empty_numerator_warning

ERRORS = 'sum(rate(http_requests_total{status=~"5.."}[5m]))'
TOTAL = "sum(rate(http_requests_total[5m]))"


@pytest.mark.parametrize(
    ("query", "warned"),
    [
        (f"{ERRORS} / {TOTAL}", True),
        (f"1 - ({ERRORS} / {TOTAL})", True),  # the numerator is inside the brackets
        (f'sum(rate(x{{code="5xx"}}[5m])) / {TOTAL}', True),  # fastapi-instrumentator's 5xx
        (f'sum(rate(rest_server_requests_total{{status_code="500"}}[5m])) / {TOTAL}', True),
        (f"sum(rate(deepsynth_errors_total[5m])) / {TOTAL}", True),  # an errors counter
        (f"({ERRORS} or vector(0)) / {TOTAL}", False),  # guarded
        (f"(sum(rate(app_errors_total[5m])) or on() vector(0)) / {TOTAL}", False),
        (ERRORS, False),  # not a ratio
        (f'sum(rate(http_requests_total{{status=~"2.."}}[5m])) / {TOTAL}', False),  # good share
        ('sum(rate(x{path="/a/b"}[5m]))', False),  # a / in a label value is no division
        ("histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))", False),
    ],
)
def test_empty_numerator_warning(query: str, warned: bool) -> None:
    warning = empty_numerator_warning(query)
    assert (warning is not None) is warned
    if warning:
        assert "or vector(0)" in warning and "no_data" in warning
