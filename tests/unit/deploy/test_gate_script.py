"""deploy/kubernetes/gate.sh, the CI side of the gate in a cluster: it exits with the master's
own code (0 to 3) and with 3, never 0, on anything else. Run against a stand-in ``kubectl`` on
PATH that answers as a cluster would (the namespace, the Jobs, the master pod's status) and
records every call; no cluster is needed to check the script's own decisions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
GATE = ROOT / "deploy" / "kubernetes" / "gate.sh"

#: The stand-in: its answers come from $FAKE_STATE (a JSON file), its calls go to $FAKE_CALLS.
#: The pod's exit code shows only from the poll numbered ``code_after`` on, as a pod that is
#: still running shows none.
KUBECTL = """\
import json, os, sys
args = sys.argv[1:]
state = json.load(open(os.environ["FAKE_STATE"]))
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\\n")
polls = os.environ["FAKE_STATE"] + ".polls"
if "namespace" in args and "get" in args:
    sys.exit(0 if state.get("namespace") else 1)
if "create" in args:
    sys.exit(0)
if "delete" in args:
    sys.exit(0)
if "apply" in args:
    sys.exit(state.get("apply_rc", 0))
if "logs" in args:
    print("verdict: the master's terminal report")
    sys.exit(0)
if "pod" in args:
    n = int(open(polls).read()) + 1 if os.path.exists(polls) else 1
    open(polls, "w").write(str(n))
    code = state.get("code")
    if code is not None and n >= state.get("code_after", 1):
        print(code, end="")
    sys.exit(0)
if "job" in args:
    print(state.get("failed", ""), end="")
    sys.exit(0)
sys.exit(2)
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def gate(tmp_path: Path, **state: object) -> tuple[int, list[list[str]], str]:
    """Run gate.sh with the stand-in kubectl in this state: its exit code, the kubectl calls
    and its standard error."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\n{KUBECTL}")
    kubectl.chmod(0o755)
    (tmp_path / "state.json").write_text(json.dumps(state))
    calls = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_STATE": str(tmp_path / "state.json"),
        "FAKE_CALLS": str(calls),
        "SLOCHECK_GATE_POLL_S": "0",
        "SLOCHECK_GATE_WAIT_S": "50",
    }
    done = subprocess.run(
        ["bash", str(GATE), "gates"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    made = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return done.returncode, made, done.stderr


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_the_gate_exits_with_the_masters_own_code(tmp_path: Path, code: int) -> None:
    returned, calls, _ = gate(tmp_path, namespace=True, code=str(code), code_after=3)
    assert returned == code
    # fresh Jobs (the old ones and their pods gone first), applied from this base
    delete = next(c for c in calls if "delete" in c)
    assert "--cascade=foreground" in delete and "--wait" in delete
    assert ["--namespace", "gates", "apply", "--kustomize", str(GATE.parent)] in calls
    assert calls.index(delete) < next(i for i, c in enumerate(calls) if "apply" in c)
    # it waited for the pod to end (two polls showed no code), then printed the report
    assert sum("pod" in c for c in calls) == 3
    assert any("logs" in c for c in calls)


def test_a_missing_namespace_is_created(tmp_path: Path) -> None:
    returned, calls, _ = gate(tmp_path, namespace=False, code="0")
    assert returned == 0
    assert ["create", "namespace", "gates"] in calls


@pytest.mark.parametrize(
    ("state", "says"),
    [
        ({"code": "130"}, "ended with 130"),
        ({"code": "137"}, "ended with 137"),
        ({"code": None, "failed": "True"}, "no exit code"),
        ({"code": None}, "no exit code"),  # the wait ran out
        ({"apply_rc": 1}, "cannot apply"),
    ],
)
def test_anything_but_the_masters_verdict_is_3_never_0(
    tmp_path: Path, state: dict[str, object], says: str
) -> None:
    returned, _, stderr = gate(tmp_path, namespace=True, **state)
    assert returned == 3, stderr
    assert says in stderr and "exit 3" in stderr, stderr
