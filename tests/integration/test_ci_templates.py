"""The CI templates where users put them: copied into a fresh directory outside this
repository that holds only a spec and a service of its own, their commands install slocheck
as a package into a fresh Python and gate that service.

The jobs run with bash here the way the runners would (tests/integration/ci_runner.py:
expressions, ``if:``, env, step outputs, the composite action's inputs and outputs; checkout,
setup-python, upload-artifact and cache stood in for). There is no network, so the package
comes from this checkout: the GitHub gate's ``uses: OWNER/slocheck@v0.1.0`` is this checkout's
files (what the runner downloads for that ref), which the action installs as it would on
GitHub; the GitLab job's ``SLOCHECK_PACKAGE`` is set to their path, as a project variable
overrides the YAML's. pip reads this machine's wheels and cache.

Speed-independent: the service answers at once, the load is a fixed 20 requests/s for 10 s
(about 200 requests, ten times what the slowest objective needs) and the failing case's
errors are every fifth request, counted, not drawn.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import free_port
from tests.integration.ci_runner import GitHubRunner, JobResult, clean_env, gitlab_job_script

ROOT = Path(__file__).parents[2]
ACTION_REF = "OWNER/slocheck@v0.1.0"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="needs the prometheus binary (the action would apt-get install it; no network here)",
    ),
    pytest.mark.timeout(900),
]

SERVICE = '''\
"""A model service of its own: GET /predict, GET /health, GET /metrics (prometheus_client)."""
import itertools, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import disable_created_metrics

PORT, ERROR_EVERY = {port}, {error_every}  # ERROR_EVERY 0: never; N: every Nth answer is 500
disable_created_metrics()
registry = CollectorRegistry()
requests = Counter("http_requests_total", "answers", ["method", "endpoint", "status"],
                   registry=registry)
latency = Histogram("http_request_duration_seconds", "latency", ["method", "endpoint"],
                    registry=registry)
for status in ("200", "500"):
    requests.labels("GET", "/predict", status)
latency.labels("GET", "/predict")
count, lock = itertools.count(1), threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/predict":
            started = time.perf_counter()
            with lock:
                n = next(count)
            status = 500 if ERROR_EVERY and n % ERROR_EVERY == 0 else 200
            self.answer(status, b'{{"label": "cat", "score": 0.9}}', "application/json")
            requests.labels("GET", "/predict", str(status)).inc()
            latency.labels("GET", "/predict").observe(time.perf_counter() - started)
        elif self.path == "/metrics":
            self.answer(200, generate_latest(registry), "text/plain; version=0.0.4")
        elif self.path == "/health":
            self.answer(200, b"ok", "text/plain")
        else:
            self.answer(404, b"not found", "text/plain")

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

with open("service.pid", "w") as f:
    f.write(str(os.getpid()))
threading.Timer(900, os._exit, (0,)).start()  # never outlive the test that started it
ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
'''

SPEC = """\
# the service's own SLOs: 20 requests/s for 10 s after a 2 s warm-up, ~200 requests
version: 1
target:
  url: http://127.0.0.1:{port}
  api: http
  method: GET
  path: /predict
  ready_path: /health
prometheus:
  selector: 'endpoint="/predict"'
  scrape_interval: 1s
load:
  users: 4
  rate: 20
  duration: 10s
  warmup: 2s
slos:
  - name: availability
    sli: availability
    objective: 95%
  - name: error-ratio
    sli: error_ratio
    threshold: 5%
  - name: p90-latency
    sli: latency
    percentile: 90
    threshold: 500ms
"""


@pytest.fixture(scope="module")
def slocheck_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's files (tracked and new, not ignored), as the runner downloads an
    action's ref: nothing of .venv, build outputs or results."""
    dest = tmp_path_factory.mktemp("actions") / "OWNER" / "slocheck" / "v0.1.0"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    assert (dest / "action.yml").is_file() and (dest / "pyproject.toml").is_file()
    return dest


@pytest.fixture
def service_repo() -> Iterator[Path]:
    """A fresh directory outside this repository (the system's temporary directory, or
    /tmp when that lies inside it)."""
    base = tempfile.gettempdir()
    if Path(base).resolve().is_relative_to(ROOT.resolve()):
        base = "/tmp"
    with tempfile.TemporaryDirectory(prefix="slocheck-ci-", dir=base) as d:
        repo = Path(d) / "service"
        repo.mkdir()
        assert not repo.resolve().is_relative_to(ROOT.resolve())
        yield repo
        _stop_service(repo)


def _write_service(repo: Path, error_every: int) -> None:
    port = free_port()
    (repo / "service.py").write_text(SERVICE.format(port=port, error_every=error_every))
    (repo / "requirements.txt").write_text("prometheus-client\n")
    (repo / "slos.yaml").write_text(SPEC.format(port=port))


def _stop_service(repo: Path) -> None:
    pid_file = repo / "service.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)


def _gate(repo: Path, checkout: Path) -> tuple[JobResult, GitHubRunner]:
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / "ci" / "github" / "slo-gate.yml", workflows / "slo-gate.yml")
    workflow = yaml.safe_load((workflows / "slo-gate.yml").read_text())
    runner = GitHubRunner(
        workspace=repo, temp=repo.parent / "runner", actions={ACTION_REF: checkout}
    )
    try:
        return runner.run_job(workflow, "slo-gate"), runner
    finally:
        _stop_service(repo)


def _toolcache_python(runner: GitHubRunner) -> Path:
    return runner.temp / "toolcache" / "python-3.11" / "bin" / "python"


def test_github_gate_copied_into_a_service_repository_passes(
    service_repo: Path, slocheck_checkout: Path
) -> None:
    _write_service(service_repo, error_every=0)
    job, runner = _gate(service_repo, slocheck_checkout)
    log = job.log()
    assert job.ok, log
    # every step of the job and of the action ran, none of slocheck's own scripts
    ran = [s.name for s in job.steps if s.ran]
    assert "Start the service" in ran and "Install slocheck" in ran, ran
    assert "Run the SLO gate" in ran and "Pass slocheck's exit code through" in ran, ran
    assert "Install Prometheus" in ran  # found on the PATH here, so nothing installed
    # slocheck is installed as a package in the job's own Python, not this checkout's venv
    python = _toolcache_python(runner)
    show = subprocess.run(
        [str(python), "-m", "pip", "show", "-f", "slocheck"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    ).stdout
    location = next(line.split(": ", 1)[1] for line in show.splitlines() if line.startswith("Lo"))
    assert Path(location).is_relative_to(runner.temp), show
    assert "Editable project location" not in show, show
    # the gate judged that service and passed; the action's outputs say so
    assert job.outputs["gate"] == {
        "exit-code": "0",
        "verdict": "pass",
        "report": "slocheck-results/report.json",
    }, log
    report = json.loads((service_repo / "slocheck-results" / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["config"]["target_url"] == spec_url(service_repo)
    assert report["config"]["embedded"] is False
    assert report["spec"]["path"].endswith("slos.yaml")
    assert {s["name"]: s["verdict"] for s in report["slos"]} == {
        "availability": "pass",
        "error-ratio": "pass",
        "p90-latency": "pass",
    }
    # every answered request was counted by the service's own counter, scraped by the
    # Prometheus slocheck started
    counts = next(c for c in report["cross_checks"] if c["name"] == "request_counts")
    assert counts["ok"], counts
    # reports uploaded, the summary in the job summary
    assert job.artifacts["slocheck-gate"] == [service_repo / "slocheck-results"]
    assert (service_repo / "slocheck-results" / "junit.xml").exists()
    assert "## slocheck: PASS" in job.summary and "availability" in job.summary


def spec_url(repo: Path) -> str:
    return str(yaml.safe_load((repo / "slos.yaml").read_text())["target"]["url"])


def test_github_gate_fails_a_service_that_answers_errors(
    service_repo: Path, slocheck_checkout: Path
) -> None:
    _write_service(service_repo, error_every=5)  # 20% of the answers are 500
    job, _ = _gate(service_repo, slocheck_checkout)
    log = job.log()
    assert not job.ok, log
    assert job.outputs["gate"]["exit-code"] == "1", log
    assert job.outputs["gate"]["verdict"] == "fail", log
    # the last step passed slocheck's exit code through: the job fails with 1, not 0 or 3
    last = job.steps[-2]  # then the template's own "Keep the service's log" (always())
    assert last.name == "Pass slocheck's exit code through" and last.code == 1, log
    assert job.steps[-1].ran  # if: always() still ran after the failure
    # and the reports were still uploaded
    assert job.artifacts["slocheck-gate"] == [service_repo / "slocheck-results"]
    report = json.loads((service_repo / "slocheck-results" / "report.json").read_text())
    verdicts = {s["name"]: s["verdict"] for s in report["slos"]}
    assert verdicts["availability"] == "fail" and verdicts["error-ratio"] == "fail", verdicts


def test_gitlab_gate_job_copied_into_a_service_repository_passes(
    service_repo: Path, slocheck_checkout: Path
) -> None:
    _write_service(service_repo, error_every=0)
    shutil.copy(ROOT / "ci" / "gitlab" / ".gitlab-ci.yml", service_repo / ".gitlab-ci.yml")
    pipeline = yaml.safe_load((service_repo / ".gitlab-ci.yml").read_text())
    variables, script = gitlab_job_script(pipeline, "slo-gate")
    assert variables["SLOCHECK_PACKAGE"].startswith("slocheck @ git+https://github.com/")
    # no network here: a project variable overrides the YAML's, as users would to pin
    variables["SLOCHECK_PACKAGE"] = str(slocheck_checkout)
    # the image's Python (python:3.11-bookworm): a fresh one, first on the PATH
    image_python = service_repo.parent / "image-python"
    subprocess.run([sys.executable, "-m", "venv", str(image_python)], check=True)
    env = clean_env(**variables, CI="true", CI_PIPELINE_ID="77")
    env["PATH"] = f"{image_python / 'bin'}:{env['PATH']}"
    try:
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
            cwd=service_repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        _stop_service(service_repo)
    log = textwrap.shorten(proc.stdout[-3000:], 3000) + proc.stderr[-3000:]
    assert proc.returncode == 0, log
    report = json.loads((service_repo / "slocheck-results" / "gate" / "report.json").read_text())
    assert report["verdict"] == "pass"
    assert report["config"]["target_url"] == spec_url(service_repo)
    assert (service_repo / "slocheck-results" / "gate" / "junit.xml").exists()  # reports.junit
    assert (image_python / "bin" / "slocheck").exists()
