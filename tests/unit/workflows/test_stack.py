"""The embedded service's lifecycle: launched early (while Prometheus starts), waited for once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slocheck.slofile.model import ServiceSpec
from slocheck.workflows import stack


class _Proc:
    def poll(self) -> int | None:
        return None


def test_a_launched_service_is_started_once_and_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[list[str]] = []
    waited: list[str] = []
    stopped: list[object] = []

    def spawn(args: list[str], **_: Any) -> _Proc:
        spawned.append(args)
        return _Proc()

    monkeypatch.setattr(stack, "spawn", spawn)
    monkeypatch.setattr(stack, "wait_until_ready", lambda url, path, *a, **k: waited.append(path))
    monkeypatch.setattr(stack, "stop_group", stopped.append)
    service = stack.EmbeddedService(ServiceSpec(), tmp_path / "logs" / "service.log")
    service.launch()
    assert len(spawned) == 1 and waited == []  # launched, not waited for
    service.launch()
    with service:
        assert len(spawned) == 1 and waited == ["/health/ready"]
    assert len(stopped) == 1 and service.proc is None
    service.stop()  # stopping twice (the run's stack does) is a no-op
    assert len(stopped) == 1
