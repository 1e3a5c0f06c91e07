"""Real third-party inference servers for integration tests: Seldon MLServer and llama.cpp.

Why real servers: the metric presets and the `kserve-v2` / `openai` load users must meet the
names, labels, status codes and stream framing those projects really produce, not our idea of
them. Both are installed once into a cache outside the repository by
`bash scripts/servers/install.sh` (docs/servers.md); where the cache lacks one, the fixtures skip
with the reason the installer wrote (`<cache>/<server>/FAILED`).

Use the fixtures (module scope: one server per test module, so counters are exact per module)::

    from tests.integration.servers import llama_server, mlserver_server  # noqa: F401

or the context managers `start_mlserver` / `start_llama_server` for a fresh server in one test.
Everything listens on 127.0.0.1 on free ports; each server runs in its own process group, which
is stopped (SIGTERM, then SIGKILL) when the fixture ends, also after an error.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

READY_TIMEOUT_S = 90.0
#: How long a fixture waits for an install in progress (the llama.cpp build takes 6-10 min).
INSTALL_WAIT_S = float(os.environ.get("SLOCHECK_SERVERS_WAIT_S", "1200"))
STOP_TIMEOUT_S = 15.0
MLSERVER_MODEL = "iris"
LLAMA_MODEL = "tiny"
#: One KServe v2 body the iris model answers (two rows of 4 FP32 features), and one it refuses
#: with a 500 (3 features: scikit-learn raises ValueError inside predict).
IRIS_BODY = {
    "inputs": [
        {
            "name": "predict",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
        }
    ]
}
IRIS_WRONG_SHAPE_BODY = {
    "inputs": [{"name": "predict", "shape": [1, 3], "datatype": "FP32", "data": [1.0, 2.0, 3.0]}]
}


def cache_dir() -> Path:
    """Where scripts/servers/install.sh puts the servers (same default as its common.sh)."""
    return Path(os.environ.get("SLOCHECK_CACHE") or Path.home() / ".cache" / "slocheck")


@dataclass(frozen=True)
class RunningServer:
    """A started server: where to send requests and where to scrape."""

    name: str
    url: str
    metrics_url: str
    model: str
    log_path: Path
    pid: int

    def log_text(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]


def wait_budget(request: pytest.FixtureRequest) -> float:
    """How long a fixture may wait for an install: INSTALL_WAIT_S, but 60 s less than the
    pytest-timeout that applies (a `timeout` mark, else the ini's), so that it skips with its
    reason instead of being killed. A module that wants the full wait marks itself
    `pytestmark = pytest.mark.timeout(1500)`."""
    marker = request.node.get_closest_marker("timeout")
    limit = 0.0
    if marker is not None and marker.args:
        limit = float(marker.args[0])
    else:
        try:
            limit = float(request.config.getini("timeout") or 0)
        except (ValueError, TypeError):
            limit = 0.0
    return min(INSTALL_WAIT_S, limit - 60.0) if limit > 0 else INSTALL_WAIT_S


def wait_for_install(home: Path, label: str, budget_s: float = INSTALL_WAIT_S) -> None:
    """Wait while an install holds the server's lock (install.sh --background), bounded.

    Why wait rather than skip: setup starts the llama.cpp build in the background so that it
    overlaps the test run; the tests that need it come late and should use it when it ends."""
    lock_path = home / ".lock"
    if not lock_path.exists():
        return
    deadline = time.monotonic() + budget_s
    with open(lock_path, "a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip(
                        f"{label} is still being installed after {budget_s:.0f}s of waiting "
                        f"(log: {home / 'install.log'}, {home / 'build.log'})"
                    )
                time.sleep(1.0)
                continue
            fcntl.flock(lock, fcntl.LOCK_UN)
            return


def installed_or_skip(
    server: str, label: str, needed: Sequence[str], wait_s: float = INSTALL_WAIT_S
) -> Path:
    """The server's cache directory, or pytest.skip saying how to install it and why it is not."""
    home = cache_dir() / server
    wait_for_install(home, label, wait_s)
    if all((home / rel).exists() for rel in needed) and (home / "STAMP").is_file():
        return home
    reason = ""
    failed = home / "FAILED"
    if failed.is_file():
        reason = f" (last install failed: {failed.read_text(errors='replace').strip()[:500]})"
    pytest.skip(
        f"{label} is not installed in {home}: run bash scripts/servers/install.sh {server}{reason}"
    )


@contextmanager
def _process(
    name: str, argv: Sequence[str], cwd: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run argv in its own session (process group); stop the whole group on exit."""
    log_path = cwd / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; children of the group may linger: a last SIGKILL to the group
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return


def _wait_until(
    server: RunningServer, proc: subprocess.Popen[bytes], ready: list[tuple[str, str | None]]
) -> None:
    """Wait until every (url, needed log text) answers 200 / appears, within READY_TIMEOUT_S.

    Raises with the server's log when the process exits or the deadline passes."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(ready)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited before ready:\n{server.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{server.name} not ready in {READY_TIMEOUT_S:.0f}s (waiting on {pending}):\n"
                    f"{server.log_text()}"
                )
            url, text = pending[0]
            if text is not None and text not in server.log_text(tail=1 << 20):
                time.sleep(0.1)
                continue
            try:
                if client.get(url).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.1)


@contextmanager
def start_mlserver(workdir: Path, wait_s: float = INSTALL_WAIT_S) -> Iterator[RunningServer]:
    """MLServer serving the iris model, on free 127.0.0.1 ports (REST, gRPC, metrics).

    `parallel_workers: 0` keeps inference in the one server process, so the REST middleware's
    counters live in one in-process registry (no multiprocess files) and /metrics counts every
    request exactly. Ready when the model has loaded, `/v2/health/ready` answers 200 and the
    metrics port answers: none of these probes is counted in `rest_server_requests_total`
    (MLServer skips /v2/health/* and /metrics; the log is not a request), so the counters start
    empty. The working directory is `workdir`: MLServer creates `.metrics`/`.envs` there and
    reads a `.env` from it."""
    home = installed_or_skip("mlserver", "MLServer", ["venv/bin/mlserver", "models/iris"], wait_s)
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLSERVER_")},
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
        "MLSERVER_METRICS_PORT": str(metrics_port),
        "MLSERVER_PARALLEL_WORKERS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    argv = [str(home / "venv/bin/mlserver"), "start", str(home / "models")]
    with _process("mlserver", argv, workdir, env) as proc:
        server = RunningServer(
            name="mlserver",
            url=f"http://127.0.0.1:{http_port}",
            metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
            model=MLSERVER_MODEL,
            log_path=workdir / "mlserver.log",
            pid=proc.pid,
        )
        _wait_until(
            server,
            proc,
            [
                (server.url + "/v2/health/ready", f"Loaded model '{MLSERVER_MODEL}' successfully"),
                (server.metrics_url, None),
            ],
        )
        yield server


@contextmanager
def start_llama_server(
    workdir: Path,
    # one thread: llama.cpp's threads spin-wait for each other, and with a core busy elsewhere
    # (another test, scripts/busy.sh) a thread per core made every token ~100x slower
    extra_args: Sequence[str] = ("-c", "512", "-np", "2", "-t", "1", "-tb", "1"),
    wait_s: float = INSTALL_WAIT_S,
) -> Iterator[RunningServer]:
    """llama.cpp's llama-server with the tiny random-weight model, metrics on, on a free port.

    The model is served under the alias `tiny`. Ready when `/health` answers 200 (503 while the
    model loads; tools/server/README.md). `extra_args` replace the default context size and
    slot count (`-c 512 -np 2`)."""
    home = installed_or_skip("llamacpp", "llama.cpp's llama-server", ["bin/llama-server"], wait_s)
    model = home / "models" / "tiny.gguf"
    if not model.is_file():
        pytest.skip(f"{model} is missing: run bash scripts/servers/install.sh llamacpp")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        str(home / "bin/llama-server"),
        *("-m", str(model), "--alias", LLAMA_MODEL),
        *("--host", "127.0.0.1", "--port", str(port)),
        "--metrics",
        "--no-webui",
        *extra_args,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMA_ARG_")}
    with _process("llama-server", argv, workdir, env) as proc:
        url = f"http://127.0.0.1:{port}"
        server = RunningServer(
            name="llama-server",
            url=url,
            metrics_url=url + "/metrics",
            model=LLAMA_MODEL,
            log_path=workdir / "llama-server.log",
            pid=proc.pid,
        )
        _wait_until(server, proc, [(url + "/health", None)])
        yield server


@pytest.fixture(scope="module")
def mlserver_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One MLServer per test module (its counters are shared by the module's tests)."""
    workdir = tmp_path_factory.mktemp("mlserver")
    with start_mlserver(workdir, wait_s=wait_budget(request)) as server:
        yield server


@pytest.fixture(scope="module")
def llama_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One llama-server per test module (its counters are shared by the module's tests)."""
    workdir = tmp_path_factory.mktemp("llama")
    with start_llama_server(workdir, wait_s=wait_budget(request)) as server:
        yield server
