"""The command blocks of README.md and docs/*.md, split into commands and classified.

Used by tests/unit/test_docs_static.py (files, flags, links: no process) and
tests/integration/test_docs_commands.py (runs what can run offline and fast).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
# fences whose every line is a command; in other fences only `$ ` lines are commands
SHELL_FENCES = ("bash", "console", "sh", "shell")
TRANSCRIPT_FENCES = ("text", "")
# a path in a command that starts with one of these is the repository's and must exist
REPO_DIRS = ("examples/", "benchmarks/", "scripts/", "docs/", "tests/", "slocheck/", "deploy/")
# flags whose value is written, not read
OUTPUT_FLAGS = {"--out", "--json", "--junit", "--markdown", "--html", "--history"}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_:]*$")  # FILE, N, URL, HOST:PORT, R
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

# subcommands that cannot run offline and fast, and why
SKIP_RULES = {
    "run": "a load run: starts the service, Prometheus and Locust (30 s and more)",
    "bench": "repeated load runs (minutes)",
    "capacity": "a capacity search (minutes of load)",
    "verify": "needs a Prometheus holding the service's data",
    "serve": "a server that runs until stopped",
    "worker": "waits for a master on another machine",
    "compare": "needs a history or reports of earlier runs",
    "history": "needs a history of earlier runs",
}
RUNNABLE = {"validate", "generate", "convert", "init"}


@dataclass
class Command:
    """One command of a block: a `&&` chain is one command of several argvs."""

    doc: Path
    line: int
    text: str
    argvs: list[list[str]]
    expected_exit: int
    synopsis: bool
    # a transcript's lines under the command: what the docs say it prints
    output: list[str] = field(default_factory=list)


@dataclass
class Block:
    doc: Path
    line: int
    fence: str
    commands: list[Command] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def _split_comment(line: str) -> tuple[str, str]:
    match = re.search(r"(^|\s)#", line)
    if match is None:
        return line, ""
    return line[: match.start()], line[match.end() :]


def _expand_optional(text: str) -> tuple[str, bool]:
    """Drop the brackets of optional parts that hold no placeholder; a synopsis keeps some."""
    synopsis = False

    def expand(match: re.Match[str]) -> str:
        nonlocal synopsis
        inner = match.group(1)
        if "|" in inner or "[" in inner or any(PLACEHOLDER.match(t) for t in inner.split()):
            synopsis = True
        return inner

    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\[([^\[\]]*)\]", expand, text)
    return text, synopsis


def _argvs(text: str) -> list[list[str]]:
    argvs = []
    for part in text.split("&&"):
        argv = shlex.split(part)
        while argv and re.match(r"^[A-Z_]+=", argv[0]):
            argv = argv[1:]
        if argv:
            argvs.append(argv)
    return argvs


def _commands(doc: Path, line: int, fence: str, body: list[str]) -> list[Command]:
    transcript = fence in TRANSCRIPT_FENCES
    logical: list[tuple[int, str]] = []
    outputs: list[list[str]] = []
    continued = False
    for offset, raw in enumerate(body):
        stripped = raw.strip()
        if transcript:
            if not stripped.startswith("$ ") and not continued:
                if outputs and stripped:
                    outputs[-1].append(stripped)
                continue
            stripped = stripped.removeprefix("$ ")
        if not stripped or (stripped.startswith("#") and not continued):
            continued = False
            continue
        if continued or (logical and stripped.startswith("[") and not transcript):
            # a backslash continuation, or a synopsis's next line of options
            number, previous = logical[-1]
            logical[-1] = (number, previous + " " + stripped.rstrip("\\").strip())
        else:
            logical.append((line + 1 + offset, stripped.rstrip("\\").strip()))
            outputs.append([])
        continued = stripped.endswith("\\")
    commands = []
    for (number, text), output in zip(logical, outputs, strict=True):
        code, comment = _split_comment(text)
        exit_match = re.search(r"\bexit (\d+)", comment)
        expanded, synopsis = _expand_optional(code.strip())
        argvs = _argvs(expanded)
        synopsis = synopsis or any(
            PLACEHOLDER.match(token) or "|" in token for argv in argvs for token in argv
        )
        commands.append(
            Command(
                doc=doc,
                line=number,
                text=code.strip(),
                argvs=argvs,
                expected_exit=int(exit_match.group(1)) if exit_match else 0,
                synopsis=synopsis,
                output=output,
            )
        )
    return commands


def blocks() -> list[Block]:
    """Every fenced block of the docs that holds at least one command."""
    found = []
    for doc in DOC_FILES:
        lines = doc.read_text(encoding="utf-8").splitlines()
        index = 0
        while index < len(lines):
            # a fence may be indented, in a list item: its lines lose that indentation
            match = re.match(r"^( *)```(\w*)\s*$", lines[index])
            if match is None:
                index += 1
                continue
            indent, fence = match.group(1), match.group(2)
            end = index + 1
            while end < len(lines) and not lines[end].startswith(indent + "```"):
                end += 1
            if fence in SHELL_FENCES or fence in TRANSCRIPT_FENCES:
                body = [line.removeprefix(indent) for line in lines[index + 1 : end]]
                block = Block(doc=doc, line=index + 1, fence=fence)
                block.commands = _commands(doc, index + 1, fence, body)
                if block.commands:
                    found.append(block)
            index = end + 1
    return found


def slocheck_argv(argv: list[str]) -> list[str] | None:
    """The arguments after `slocheck` (or `.venv/bin/slocheck`), None for another program
    (`kubectl -n slocheck ...`: a flag's value named slocheck is not the program)."""
    for index, token in enumerate(argv):
        if index and argv[index - 1].startswith("-"):
            continue
        if token == "slocheck" or token.endswith("/bin/slocheck"):
            return argv[index + 1 :]
    return None


def subcommand(args: list[str]) -> str | None:
    return next((token for token in args if not token.startswith("-")), None)


def repo_paths(argv: list[str]) -> list[str]:
    """The repository files a command reads (outputs and the reader's own files aside)."""
    paths = []
    for index, token in enumerate(argv):
        if index and argv[index - 1] in OUTPUT_FLAGS:
            continue
        value = token.split("=", 1)[-1]
        if value.startswith(REPO_DIRS) or value.startswith(".ci/"):
            paths.append(value)
    return paths


def flags(argv: list[str]) -> list[str]:
    return [match.group(0) for token in argv for match in [FLAG.match(token)] if match]


def skip_reason(command: Command) -> str | None:
    """Why a command is not run, None when it runs offline and fast."""
    if command.synopsis:
        return "a usage synopsis (placeholders): its flags are checked against --help"
    for argv in command.argvs:
        args = slocheck_argv(argv)
        if args is None:
            return f"runs {argv[0]} {argv[1] if len(argv) > 1 else ''}: setup or the test suite"
        if "--help" in args or "-h" in args:
            continue
        sub = subcommand(args)
        if sub in SKIP_RULES:
            return SKIP_RULES[sub]
        if sub not in RUNNABLE:
            return f"unknown subcommand {sub!r}"
        if sub == "init" and ("--target-url" in args or "--prometheus-url" in args):
            return "init probes a live service"
        if sub == "validate" and "--probe" in args:
            return "validate --probe reaches the target and Prometheus"
    return None


def relative_links(doc: Path) -> list[tuple[int, str]]:
    """(line, target) of every relative markdown link, anchors dropped."""
    links = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        for match in re.finditer(r"\]\(([^)\s]+)\)", line):
            target = match.group(1)
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            links.append((number, target.split("#", 1)[0]))
    return links


def quoted_repo_paths(doc: Path) -> list[tuple[int, str]]:
    """(line, path) of every `examples/...`, `docs/...`, `tests/...` ... the text quotes."""
    paths = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        for match in re.finditer(r"`([^`\s]+)`", line):
            path = match.group(1).rstrip(".,:;")
            if path.startswith(REPO_DIRS) and not any(c in path for c in "*<>{}$"):
                paths.append((number, path))
    return paths


def output_pattern(documented: str) -> re.Pattern[str]:
    """A documented output line as a pattern: `...` stands for anything, a spec's sha256 for
    any (it changes with every edit of the file)."""
    parts = [re.escape(part) for part in documented.split("...")]
    pattern = ".*".join(parts)
    pattern = re.sub(r"sha256\\ [0-9a-f]{12}", r"sha256\\ \\S+", pattern)
    return re.compile(pattern)


def named_files(doc: Path) -> dict[str, str]:
    """The files a page writes out for its commands: a fenced block right after a line that
    ends with a quoted file name and a colon (`` `traps.yaml`: ``)."""
    files = {}
    lines = doc.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("```") or line.strip() == "```":
            continue
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        match = re.search(r"`([\w.-]+)`:\s*$", previous)
        if match is None:
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        files[match.group(1)] = "\n".join(lines[index + 1 : end]) + "\n"
    return files
