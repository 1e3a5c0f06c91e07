"""Run a GitHub Actions job or a GitLab CI job's commands here, the way the CI would.

Enough of the runners to execute slocheck's CI templates (``ci/``) and its composite action
(``action.yml``) with bash in a directory of their own: ``${{ ... }}`` expressions (contexts,
string literals, ``==``, ``!=``, ``!``, ``&&``, ``||``, parentheses, ``always()``,
``success()``, ``failure()``), each step's ``if:`` (with the implicit ``success() &&``),
workflow, job and step ``env:``, ``$GITHUB_OUTPUT``, ``$GITHUB_ENV``, ``$GITHUB_PATH`` and
``$GITHUB_STEP_SUMMARY``, ``bash -e -o pipefail`` for ``run:``, and composite actions with
their inputs, defaults and outputs. The marketplace actions the templates use are stood in
for: ``actions/checkout`` (the directory is the checkout), ``actions/setup-python`` (a fresh
virtual environment first on the PATH, one per version, like the runner's tool cache),
``actions/upload-artifact`` (records what would be uploaded) and ``actions/cache`` (nothing
cached). Any other ``uses:`` is looked up in ``actions`` (``owner/name@ref`` -> a directory
holding its ``action.yml``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Value = str | float | bool | None

# --- expressions ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|\.)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot parse expression {expr!r} at {expr[pos:]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def truthy(v: Value) -> bool:
    return v not in (None, "", 0, 0.0, False)


def as_text(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    return v


class _Parser:
    def __init__(self, expr: str, contexts: Mapping[str, Any], failed: bool) -> None:
        self.toks = _tokens(expr)
        self.i = 0
        self.contexts = contexts
        self.failed = failed
        self.status_function = False

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (op is not None and tok[1] != op):
            raise ValueError(f"expected {op or 'a token'}, got {tok}")
        self.i += 1
        return tok

    def parse(self) -> Value:
        v = self.or_()
        if self.peek() is not None:
            raise ValueError(f"trailing tokens from {self.peek()}")
        return v

    def or_(self) -> Value:
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            w = self.and_()
            v = v if truthy(v) else w
        return v

    def and_(self) -> Value:
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            w = self.cmp()
            v = w if truthy(v) else v
        return v

    def cmp(self) -> Value:
        v = self.unary()
        tok = self.peek()
        if tok in (("op", "=="), ("op", "!=")):
            self.take()
            w = self.unary()
            same = as_text(v).lower() == as_text(w).lower()
            return same if tok == ("op", "==") else not same
        return v

    def unary(self) -> Value:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Value:
        kind, text = self.take()
        if text == "(" and kind == "op":
            v = self.or_()
            self.take(")")
            return v
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            self.take()
            self.take(")")
            self.status_function = True
            if text == "always":
                return True
            if text == "success":
                return not self.failed
            if text == "failure":
                return self.failed
            raise ValueError(f"function {text}() is not supported here")
        node: Any = self.contexts.get(text)
        while self.peek() == ("op", "."):
            self.take()
            _, key = self.take()
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            raise ValueError(f"{text}... is an object, not a value")
        return node if isinstance(node, str | float | bool) or node is None else str(node)


def evaluate(expr: str, contexts: Mapping[str, Any], failed: bool = False) -> Value:
    return _Parser(expr, contexts, failed).parse()


_INTERP = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(text: Any, contexts: Mapping[str, Any]) -> str:
    """A YAML value with its ``${{ ... }}`` replaced, as text."""
    if not isinstance(text, str):
        return as_text(text)
    return _INTERP.sub(lambda m: as_text(evaluate(m.group(1), contexts)), text)


def condition(cond: Any, contexts: Mapping[str, Any], failed: bool) -> bool:
    """A step's ``if:``; without a status function it is ``success() && (...)``."""
    if cond is None:
        return not failed
    expr = as_text(cond) if not isinstance(cond, str) else cond.strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", expr, re.S)
    if m:
        expr = m.group(1)
    p = _Parser(expr, contexts, failed)
    v = truthy(p.parse())
    return v if p.status_function else (v and not failed)


# --- GitHub Actions ----------------------------------------------------------------------


@dataclass
class StepLog:
    name: str
    ran: bool
    code: int
    output: str = ""


@dataclass
class JobResult:
    ok: bool
    steps: list[StepLog]
    outputs: dict[str, dict[str, str]]
    summary: str
    artifacts: dict[str, list[Path]]

    def log(self) -> str:
        return "\n".join(
            f"--- {s.name}: {'exit ' + str(s.code) if s.ran else 'skipped'}\n{s.output[-3000:]}"
            for s in self.steps
        )


BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh runner: this machine's pip settings and cache, no venv."""
    keep = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PIP_")}
    env["PATH"] = BASE_PATH
    env.update(extra)
    return env


@dataclass
class GitHubRunner:
    """Runs one job of a workflow in ``workspace``; temporary files go under ``temp``."""

    workspace: Path
    temp: Path
    actions: Mapping[str, Path] = field(default_factory=dict)
    step_timeout: float = 600.0
    env: dict[str, str] = field(default_factory=clean_env)
    artifacts: dict[str, list[Path]] = field(default_factory=dict)
    _path: list[str] = field(default_factory=list)
    _job_env: dict[str, str] = field(default_factory=dict)
    _logs: list[StepLog] = field(default_factory=list)
    _action_path: Path | None = None  # GITHUB_ACTION_PATH inside a composite action

    def __post_init__(self) -> None:
        self.temp.mkdir(parents=True, exist_ok=True)
        self.summary = self.temp / "step_summary.md"
        self.summary.touch()
        self.env_file = self.temp / "github_env"
        self.path_file = self.temp / "github_path"
        self.github: dict[str, str] = {
            "workspace": str(self.workspace),
            "run_id": "4242",
            "sha": "0" * 40,
            "event_name": "pull_request",
            "repository": "example/service",
        }
        self.uses: dict[str, Callable[[Mapping[str, str]], None]] = {
            "actions/checkout": lambda _with: None,
            "actions/cache": lambda _with: None,
            "actions/setup-python": self._setup_python,
            "actions/upload-artifact": self._upload_artifact,
        }

    # stand-ins for the marketplace actions
    def _setup_python(self, with_: Mapping[str, str]) -> None:
        version = with_.get("python-version") or "3"
        root = self.temp / "toolcache" / f"python-{version}"
        if not root.exists():
            subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        self._path.insert(0, str(root / "bin"))

    def _upload_artifact(self, with_: Mapping[str, str]) -> None:
        paths = [self.workspace / p.strip() for p in with_["path"].splitlines() if p.strip()]
        self.artifacts[with_.get("name") or "artifact"] = [p for p in paths if p.exists()]

    def run_job(self, workflow: Mapping[str, Any], job: str) -> JobResult:
        spec = workflow["jobs"][job]
        contexts: dict[str, Any] = {"github": self.github, "vars": {}, "steps": {}}
        self._job_env = {}
        for scope in (workflow.get("env") or {}, spec.get("env") or {}):
            for k, v in scope.items():
                self._job_env[k] = interpolate(v, {**contexts, "env": self._job_env})
        self._logs = []
        failed = self._run_steps(spec["steps"], contexts)
        return JobResult(
            ok=not failed,
            steps=self._logs,
            outputs={k: v["outputs"] for k, v in contexts["steps"].items()},
            summary=self.summary.read_text(),
            artifacts=self.artifacts,
        )

    def _run_steps(self, steps: list[Mapping[str, Any]], contexts: dict[str, Any]) -> bool:
        failed = False
        for i, step in enumerate(steps):
            name = str(step.get("name") or step.get("uses") or step.get("run", "")[:40])
            ctx = {**contexts, "env": dict(self._job_env)}
            if not condition(step.get("if"), ctx, failed):
                self._logs.append(StepLog(name, ran=False, code=0))
                continue
            step_env = {k: interpolate(v, ctx) for k, v in (step.get("env") or {}).items()}
            ctx["env"].update(step_env)
            outputs: dict[str, str] = {}
            if "run" in step:
                code = self._run_script(interpolate(step["run"], ctx), ctx["env"], outputs, name)
            else:
                with_ = {k: interpolate(v, ctx) for k, v in (step.get("with") or {}).items()}
                code = self._uses(step["uses"], with_, outputs, name)
            step_id = step.get("id") or f"__step{i}"
            contexts["steps"][step_id] = {
                "outputs": outputs,
                "outcome": "success" if code == 0 else "failure",
            }
            if code != 0:
                failed = True
        return failed

    def _run_script(
        self, script: str, step_env: Mapping[str, str], outputs: dict[str, str], name: str
    ) -> int:
        output_file = self.temp / "github_output"
        output_file.write_text("")
        self.env_file.touch()
        self.path_file.touch()
        env = {
            **self.env,
            **step_env,
            "PATH": ":".join([*self._path, self.env.get("PATH", BASE_PATH)]),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_RUN_ID": self.github["run_id"],
            "GITHUB_SHA": self.github["sha"],
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(self.env_file),
            "GITHUB_PATH": str(self.path_file),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "RUNNER_TEMP": str(self.temp),
        }
        if self._action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(self._action_path)
        script_file = self.temp / "step.sh"
        script_file.write_text(script)
        try:
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script_file)],
                cwd=self.workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=self.step_timeout,
                check=False,
            )
            code, out = proc.returncode, proc.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            code, out = 124, (e.stdout or b"").decode(errors="replace") + "\n[timed out]"
        self._logs.append(StepLog(name, ran=True, code=code, output=out))
        outputs.update(_key_values(output_file.read_text()))
        self._job_env.update(_key_values(self.env_file.read_text()))
        self.env_file.write_text("")
        self._path[:0] = [p for p in self.path_file.read_text().splitlines() if p]
        self.path_file.write_text("")
        return code

    def _uses(self, uses: str, with_: Mapping[str, str], outputs: dict[str, str], name: str) -> int:
        ref = uses.split("@", 1)[0]
        if ref in self.uses:
            self.uses[ref](with_)
            self._logs.append(StepLog(name, ran=True, code=0, output=f"[stand-in for {uses}]"))
            return 0
        if uses not in self.actions:
            raise KeyError(f"no stand-in or checkout for action {uses!r}")
        return self._composite(self.actions[uses], with_, outputs)

    def _composite(self, path: Path, with_: Mapping[str, str], outputs: dict[str, str]) -> int:
        action = yaml.safe_load((path / "action.yml").read_text())
        assert action["runs"]["using"] == "composite"
        inputs: dict[str, str] = {}
        for key, spec in (action.get("inputs") or {}).items():
            if key in with_:
                inputs[key] = with_[key]
            elif spec.get("required") and "default" not in spec:
                raise ValueError(f"input {key!r} is required")
            else:
                inputs[key] = as_text(spec.get("default", ""))
        unknown = set(with_) - set(inputs)
        if unknown:
            raise ValueError(f"the action has no input {sorted(unknown)}")
        github = {**self.github, "action_path": str(path)}
        contexts: dict[str, Any] = {"github": github, "inputs": inputs, "steps": {}, "vars": {}}
        outer_path, self._action_path = self._action_path, path
        try:
            for step in action["runs"]["steps"]:
                if "run" in step and step.get("shell") != "bash":
                    raise ValueError(f"a composite run step needs shell: bash: {step}")
            failed = self._run_steps(action["runs"]["steps"], contexts)
        finally:
            self._action_path = outer_path
        for key, spec in (action.get("outputs") or {}).items():
            outputs[key] = interpolate(spec["value"], contexts)
        return 1 if failed else 0


def _key_values(text: str) -> dict[str, str]:
    """``name=value`` lines and ``name<<EOF`` blocks, as $GITHUB_OUTPUT and $GITHUB_ENV hold."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            block: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                block.append(lines[i])
                i += 1
            out[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


# --- GitLab CI -----------------------------------------------------------------------------


def gitlab_job_script(pipeline: Mapping[str, Any], job: str) -> tuple[dict[str, str], str]:
    """A job's variables (the pipeline's, then its own and its ``extends``) and the script
    the runner would run: ``before_script`` then ``script``, each line as a command of one
    ``bash -e -o pipefail`` script."""
    spec = dict(pipeline[job])
    chain = [spec]
    while "extends" in chain[-1]:
        chain.append(pipeline[chain[-1]["extends"]])
    merged: dict[str, Any] = {}
    for part in reversed(chain):
        merged.update({k: v for k, v in part.items() if k != "extends"})
    variables = {k: as_text(v) for k, v in (pipeline.get("variables") or {}).items()}
    variables.update({k: as_text(v) for k, v in (merged.get("variables") or {}).items()})
    lines = [*merged.get("before_script", []), *merged["script"]]
    return variables, "\n".join(lines) + "\n"
