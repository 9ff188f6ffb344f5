"""Where each setting of a YAML file is: line numbers by path of keys and indexes, so every
problem found after parsing (by validation, by a layer above) names its file and line."""

from __future__ import annotations

import yaml

from daypulse.errors import Issue


class Located:
    """Line numbers of a parsed YAML document, by path of keys/indexes."""

    def __init__(self, file: str, node: yaml.Node | None):
        self.file = file
        self.lines: dict[tuple, int] = {}
        self.overlays: dict[tuple, Located] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = path + (key.value,)
                self._walk(value, child)
                self.lines[child] = key.start_mark.line + 1  # point at the key itself
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))

    def overlay(self, prefix: tuple, other: Located) -> None:
        """Paths under ``prefix`` come from another file (a pack's metric)."""
        self.overlays[prefix] = other

    def _owner(self, path: tuple) -> Located:
        for prefix, other in self.overlays.items():
            if path[:len(prefix)] == prefix:
                return other
        return self

    def line(self, path: tuple) -> int | None:
        path = tuple(path)
        owner = self._owner(path)
        if owner is not self:
            return owner.line(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def issue(self, path: tuple, message: str, **kw) -> Issue:
        return Issue(message, file=self._owner(tuple(path)).file, line=self.line(path), **kw)
