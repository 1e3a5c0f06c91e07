"""Line numbers of a YAML document's nodes, by field path, and errors that name them
(``slos.yaml:14: slos[2].threshold: ...``). Shared by the loader and the importers."""

from __future__ import annotations

from typing import Protocol

import yaml

from slocheck.errors import SpecError

MAX_NODES = 100_000
PathT = tuple[str | int, ...]


def format_path(path: PathT) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Locator(Protocol):
    """What turns a path of the validated spec into an error naming file, line and field."""

    def error(self, path: PathT, message: str, hint: str | None = None) -> SpecError: ...

    def written(self, path: PathT) -> PathT: ...


class Lines:
    """Line numbers (1-based) of every node of a YAML document, by path."""

    def __init__(self, node: yaml.Node | None, file: str) -> None:
        self.file = file
        self.lines: dict[PathT, int] = {}
        self.renames: dict[PathT, PathT] = {}  # normalised path prefix -> path as written
        self._count = 0
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: PathT) -> None:
        self._count += 1
        if self._count > MAX_NODES:
            raise SpecError(
                f"the document has more than {MAX_NODES} nodes (aliases included)", file=self.file
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    raise SpecError(
                        f"duplicate key {key!r}",
                        file=self.file,
                        line=key_node.start_mark.line + 1,
                        field=format_path((*path, key)),
                    )
                seen.add(key)
                child = (*path, key)
                self.lines[child] = key_node.start_mark.line + 1
                self._walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*path, i))

    def written(self, path: PathT) -> PathT:
        """The path as the user wrote it (compact-form entries are renamed)."""
        for n in range(len(path), 0, -1):
            if path[:n] in self.renames:
                return self.renames[path[:n]] + path[n:]
        return path

    def line(self, path: PathT) -> int | None:
        written = self.written(path)
        for n in range(len(written), -1, -1):
            if written[:n] in self.lines:
                return self.lines[written[:n]]
        return None

    def error(self, path: PathT, message: str, hint: str | None = None) -> SpecError:
        return SpecError(
            message,
            file=self.file,
            line=self.line(path),
            field=format_path(self.written(path)) or None,
            hint=hint,
        )
