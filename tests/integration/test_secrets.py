"""Issue 24, item 7: a password in ``--target-url`` and ``--prometheus-url`` reaches the
servers it is for and nothing else: not stdout or stderr, not a report, a log or the history
database, and not the command line of any child process (``ps`` shows those to every user)."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import STOP_GUARD_S, ServerProcess, children_of, start_cli

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="needs the prometheus binary (scripts/setup.sh)"
)
PASSWORD = "S3CRETPASS"
SPEC = """version: 1
prometheus: {selector: 'SEL endpoint="/v1/classify"'}
load: {users: 2, rate: 20}
slos:
  - {name: availability, sli: availability, objective: 99%}
  - {name: p95-latency, sli: latency, percentile: 95, threshold: 1s}
"""


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()) - found:
            found.add(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:  # gone meanwhile
        return ""


@pytest.mark.parametrize("own_prometheus", [True, False], ids=["own-prometheus", "managed"])
def test_passwords_in_cli_urls_are_printed_nowhere_and_on_no_command_line(
    tmp_path: Path, own_prometheus: bool
) -> None:
    """With a Prometheus of the test's own (a password in --prometheus-url too), and with the
    Prometheus slocheck manages, which scrapes the target's host and port."""
    from slocheck.prom import ManagedPrometheus

    path = tmp_path / "slos.yaml"
    path.write_text(SPEC.replace("SEL", 'job="svc",' if own_prometheus else ""))
    out, history = tmp_path / "out", tmp_path / "history.sqlite"
    with (
        ServerProcess("--model", "classifier") as server,
        ManagedPrometheus([f"127.0.0.1:{server.port}"], job="svc") as prom,
    ):
        prom.wait_for_scrape_after(time.time(), timeout=60)  # a hang guard
        target = server.url.replace("http://", f"http://user:{PASSWORD}@")
        prom_url = prom.url.replace("http://", f"http://gate:{PASSWORD}@")
        args = [
            *("run", "--slo", str(path), "--out", str(out), "--history", str(history)),
            *("--target-url", target),
            *(("--prometheus-url", prom_url) if own_prometheus else ()),
            *("--duration", "3s", "--warmup", "1s", "--processes", "2"),
        ]
        proc = start_cli(args)
        # every descendant's command line, sampled until slocheck exits (a condition: the
        # run ends by itself; the deadline only guards against a hang). slocheck's own holds
        # the password (this test put it there), and so does a child forked but not yet
        # exec'd: those are its copy, not a command line slocheck built
        own = " ".join([sys.executable, "-m", "slocheck", *args]) + " "
        seen: set[str] = set()
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            seen |= {_cmdline(pid) for pid in _descendants(proc.pid)} - {own, ""}
            time.sleep(0.02)
        output = proc.communicate(timeout=STOP_GUARD_S)[0].decode(errors="replace")
    assert proc.returncode in (0, 1), output  # judged, pass or fail
    # the Locust child and its forked workers were sampled while the load ran
    assert any("-m locust" in c for c in seen), seen
    for cmdline in seen:
        assert PASSWORD not in cmdline, cmdline
    assert PASSWORD not in output
    assert f"waiting for http://***@127.0.0.1:{server.port} to answer" in output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"report.json", "report.html", "summary.md", "junit.xml", "locust.log"} <= names
    for p in written:
        assert PASSWORD.encode() not in p.read_bytes(), p
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT * FROM runs").fetchall()
    assert len(rows) == 1
    assert all(PASSWORD not in str(value) for value in rows[0]), rows
    report = (out / "report.json").read_text()
    assert f'"target_url": "http://***@127.0.0.1:{server.port}"' in report
    if own_prometheus:
        assert f'"prometheus_url": "{prom.url.replace("http://", "http://***@")}"' in report
