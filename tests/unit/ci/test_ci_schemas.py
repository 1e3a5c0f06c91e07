"""The CI templates and the composite action against the official schemas (GitHub workflow
and action, GitLab CI) that check-jsonschema vendors: offline, no network."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[3]
CHECK = Path(sys.executable).parent / "check-jsonschema"
GITHUB_TEMPLATES = sorted((ROOT / "ci" / "github").glob("*.yml"))
GITLAB_TEMPLATE = ROOT / "ci" / "gitlab" / ".gitlab-ci.yml"
ACTION = ROOT / "action.yml"

pytestmark = pytest.mark.skipif(
    not CHECK.exists() and shutil.which("check-jsonschema") is None,
    reason="needs check-jsonschema (the dev extra)",
)


def check(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    exe = str(CHECK) if CHECK.exists() else "check-jsonschema"
    return subprocess.run(
        [exe, "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_templates_are_there() -> None:
    names = {p.name for p in GITHUB_TEMPLATES}
    assert names == {"slo-gate.yml", "nightly-bench.yml"}
    assert GITLAB_TEMPLATE.exists() and ACTION.exists()


@pytest.mark.parametrize("template", GITHUB_TEMPLATES, ids=lambda p: p.name)
def test_github_workflow_template_is_valid(template: Path) -> None:
    result = check("vendor.github-workflows", template)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_template_is_valid() -> None:
    result = check("vendor.gitlab-ci", GITLAB_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_is_valid() -> None:
    result = check("vendor.github-actions", ACTION)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        ("vendor.github-workflows", "on: push\njobs:\n  gate:\n    steps:\n      - run: true\n"),
        ("vendor.gitlab-ci", "gate:\n  stage: gate\n  scripts: [true]\n"),
        ("vendor.github-actions", "name: x\ndescription: y\nruns:\n  using: composite\n"),
    ],
    ids=["workflow-without-runs-on", "gitlab-misspelt-script", "composite-without-steps"],
)
def test_the_schemas_reject_a_broken_file(tmp_path: Path, schema: str, text: str) -> None:
    # the checks above are not vacuous: each schema refuses a file with a typical mistake
    broken = tmp_path / "broken.yml"
    broken.write_text(text)
    assert check(schema, broken).returncode == 1


def test_no_template_runs_a_script_of_slocheck_s_own_repository() -> None:
    # copied into a service's repository, scripts/ and .venv/ of slocheck are not there
    for path in [*GITHUB_TEMPLATES, GITLAB_TEMPLATE, ACTION]:
        text = path.read_text()
        assert "scripts/" not in text and ".venv/" not in text, path.name


def test_the_action_has_the_inputs_and_outputs_the_readme_names() -> None:
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"slo", "target-url", "prometheus-url", "history", "args", "package"} <= set(
        action["inputs"]
    )
    assert action["inputs"]["slo"]["required"] is True
    assert set(action["outputs"]) == {"exit-code", "verdict", "report"}
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    upload = next(s for s in action["runs"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert "always()" in upload["if"]


def test_the_templates_pin_slocheck() -> None:
    # the GitHub gate pins the action's ref (which installs that same source); the others
    # pip install one package spec, a git tag by default
    gate = yaml.safe_load((ROOT / "ci" / "github" / "slo-gate.yml").read_text())
    uses = [s.get("uses", "") for s in gate["jobs"]["slo-gate"]["steps"]]
    assert "OWNER/slocheck@v0.1.0" in uses
    nightly = yaml.safe_load((ROOT / "ci" / "github" / "nightly-bench.yml").read_text())
    gitlab = yaml.safe_load(GITLAB_TEMPLATE.read_text())
    pinned = "slocheck @ git+https://github.com/OWNER/slocheck@v0.1.0"
    assert nightly["env"]["SLOCHECK_PACKAGE"] == pinned
    assert gitlab["variables"]["SLOCHECK_PACKAGE"] == pinned
