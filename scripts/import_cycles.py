"""Find import circles between the modules of a package: every import statement, at module
level, in functions and under ``if TYPE_CHECKING``, resolved to the module it names (a
``from pkg import name`` counts as an import of ``pkg.name`` when that is a module). Prints
the strongly connected components with more than one module; exit 1 when there is one.

Usage: python scripts/import_cycles.py [PACKAGE_DIR]  (default: slocheck)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path


def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module under the package directory ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package (or the module's package)
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for dotted in targets:
            target = dotted
            while target and target not in modules:  # pkg.mod.attr -> pkg.mod
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start, first_edges in graph.items():
        if start in index:
            continue
        work = [(start, iter(sorted(first_edges)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for succ in edges:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    yield sorted(component)


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "slocheck").resolve()
    modules = module_names(root)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    edges = sum(len(v) for v in graph.values())
    circles = [c for c in strongly_connected(graph) if len(c) > 1]
    print(f"import_cycles: {len(modules)} modules, {edges} imports between them")
    for circle in circles:
        print("circle: " + " <-> ".join(circle))
    if circles:
        return 1
    print("import_cycles: no circle")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
