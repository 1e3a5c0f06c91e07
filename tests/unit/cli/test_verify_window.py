"""verify's window in the words the user wrote (``now-5m``), not unix seconds (issue 25)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slocheck.cli import main
from slocheck.cli.verify import window_words
from slocheck.evaluate import Window

SPEC = "version: 1\nslos:\n  - {name: a, sli: availability, objective: 99%}\n"


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("now", "now-5m", "the window is empty: --end now-5m ("),
        ("now-5m", "now+1h", "--end now+1h ("),
    ],
)
def test_a_bad_window_is_named_as_written(
    start: str, end: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SPEC)
    argv = ["verify", "--slo", str(spec), "--prometheus-url", "http://127.0.0.1:9"]
    assert main([*argv, "--start", start, "--end", end]) == 2
    err = capsys.readouterr().err
    assert message in err and " UTC)" in err
    assert "1970" not in err and not any(w.replace(".", "").isdigit() for w in err.split())


def test_the_window_line_echoes_what_was_written() -> None:
    w = Window(1_764_663_300.0, 1_764_663_600.0)
    assert window_words(w, "now-5m", "now") == (
        "window: now-5m (2025-12-02 08:15:00 UTC) to now (2025-12-02 08:20:00 UTC), 5m"
    )
