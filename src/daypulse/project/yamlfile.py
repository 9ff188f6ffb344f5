"""Reading a YAML file within bounds, every refusal one Issue with the file and line.

A project file is read by every command and by the server, so a hostile or broken one must fail
fast and say where: at most :data:`MAX_BYTES` of UTF-8 text without control characters, at most
:data:`MAX_DEPTH` levels of nesting and :data:`MAX_NODES` values *counting each use of an alias
as a copy of what it names* (a "billion laughs" document is refused at the alias that passes the
cap, before anything is built from it), no alias inside what it names (a cycle), and no key
written twice in one mapping (YAML would silently keep the last).

Aliases and merge keys (``<<: *defaults``) stay allowed: PyYAML builds what they name once and
shares it, and the caps bound every later copy (``${VAR}`` expansion, validation).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from daypulse.errors import ConfigError, Issue

MAX_BYTES = 5 * 1024 * 1024  # 5 MB: a project with thousands of metrics is a few hundred KB
MAX_NODES = 100_000  # values (keys, scalars, lists, mappings), aliases counted as copies
MAX_DEPTH = 50  # nested lists and mappings; a project file needs about 8
MB = MAX_BYTES // (1024 * 1024)

# What YAML itself refuses to read (PyYAML's reader): control characters other than tab and
# line ends, and the non-characters.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

try:  # libyaml's parser when it is there (several times faster); composing stays ours
    from yaml.cyaml import CParser as _Parser

    def _init_parser(loader, text: str) -> None:
        _Parser.__init__(loader, text)
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        pass

    def _init_parser(loader, text: str) -> None:
        Reader.__init__(loader, text)
        Scanner.__init__(loader)
        _PyParser.__init__(loader)


class _Refused(Exception):
    def __init__(self, message: str, line: int | None, hint: str | None = None):
        super().__init__(message)
        self.message, self.line, self.hint = message, line, hint


class _Loader(Composer, _Parser, SafeConstructor, Resolver):
    """SafeLoader's parts, composing with the caps and the duplicate-key check."""

    def __init__(self, text: str):
        _init_parser(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.total = 0  # values so far, each alias counted as a copy of its target
        self.depth = 0
        self.size: dict[int, int] = {}  # id(node): values in it, aliases expanded
        self.height: dict[int, int] = {}  # id(node): levels of nesting in it, aliases expanded
        self.duplicates: list[tuple[str, int, int]] = []

    def compose_node(self, parent, index):
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is PyYAML's own error
                if id(target) not in self.size:  # still being composed: the alias is inside it
                    raise _Refused(f"alias *{event.anchor} is used inside the value it names"
                                   " (a cycle)", line,
                                   hint="an alias may only repeat a value complete before it")
                self._count(self.size[id(target)], line)
                if self.depth + self.height[id(target)] > MAX_DEPTH:
                    raise _Refused(f"nested deeper than {MAX_DEPTH} levels (with alias"
                                   f" *{event.anchor} expanded)", line)
            return super().compose_node(parent, index)
        nested = isinstance(event, (SequenceStartEvent, MappingStartEvent))
        if nested:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", line,
                               hint="a project file needs fewer than 10")
        before = self.total
        self._count(1, line)
        try:
            node = super().compose_node(parent, index)
        finally:
            if nested:
                self.depth -= 1
        self.size[id(node)] = self.total - before
        self.height[id(node)] = 1 + max((self.height[id(c)] for c in _children(node)), default=0) \
            if nested else 0
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict[Any, int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            try:  # 1 and 0x1 are one key; 1 and "1" are two
                value = (key.tag, self.construct_object(key))
                hash(value)
            except (yaml.YAMLError, TypeError, ValueError):
                value = (key.tag, key.value)
            line = key.start_mark.line + 1
            if value in seen:
                self.duplicates.append((key.value, line, seen[value]))
            else:
                seen[value] = line
        return node

    def _count(self, n: int, line: int) -> None:
        self.total += n
        if self.total > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES:,} values (each alias counted as a copy of what"
                           " it names)", line, hint="a project file holds a few thousand; is an"
                           " alias repeating a large value many times?")


def _children(node: Node):
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [x for pair in node.value for x in pair]
    return ()


def read_text(path: Path) -> str:
    """The file as text: at most MAX_BYTES read, UTF-8 (a byte-order mark allowed), else
    ConfigError naming the file and line."""
    file = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([Issue(f"cannot read the project file: {exc.strerror or exc}",
                                 file=file)]) from None
    if len(data) > MAX_BYTES:
        raise ConfigError([Issue(f"the file is larger than {MB} MB, the limit for a project file"
                                 " (reached at this line)", file=file,
                                 line=data[:MAX_BYTES].count(b"\n") + 1)])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([Issue(f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column}",
                                 file=file, line=line,
                                 hint="save the file as UTF-8")]) from None
    return text.removeprefix("\ufeff")


def load(text: str, file: str) -> tuple[Node | None, Any]:
    """(node tree, Python data) of one YAML document within the caps, or ConfigError; (None,
    None) for an empty one. Merge keys are applied in the node tree too (so its lines match the
    data)."""
    def refuse(message: str, line: int | None, hint: str | None = None):
        return ConfigError([Issue(message, file=file, line=line, hint=hint)])

    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        cut = text.encode("utf-8", "surrogatepass")[:MAX_BYTES]
        raise refuse(f"the file is larger than {MB} MB, the limit for a project file"
                     " (reached at this line)", cut.count(b"\n") + 1)
    text = text.removeprefix("\ufeff")
    if bad := _NON_PRINTABLE.search(text):
        char = bad.group()
        line = text.count("\n", 0, bad.start()) + 1
        what = "a NUL byte" if char == "\0" else f"the control character U+{ord(char):04X}"
        raise refuse(f"{what} is not allowed in a YAML file", line,
                     hint="is this a text file saved as UTF-8?")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if loader.duplicates:
            raise ConfigError([Issue(f"key {key!r} repeats the one at line {first}", file=file,
                                     line=line, hint="YAML keeps only the last one: merge them")
                               for key, line, first in loader.duplicates])
        data = loader.construct_document(node) if node is not None else None
    except _Refused as exc:
        raise refuse(exc.message, exc.line, exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context
        if exc.context and exc.problem and exc.problem.startswith("but "):
            problem = f"{exc.context}, {exc.problem}"  # "expected a single document..., but found..."
        elif exc.problem == "second occurrence" and exc.context_mark:  # a duplicate anchor
            problem = (f"{exc.context.split(';')[0]} (the first is at line"
                       f" {exc.context_mark.line + 1})")
        elif exc.context and exc.context_mark and exc.problem_mark \
                and exc.context_mark.line != exc.problem_mark.line:
            # Where it was noticed is often the line after the mistake: say where that began.
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise refuse(f"not valid YAML: {problem}",
                     mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:  # a reader error: no mark, a position
        raise refuse(f"not valid YAML: {exc}", None) from None
    except RecursionError:  # not reached within the caps; kept so no traceback can escape
        raise refuse(f"nested deeper than {MAX_DEPTH} levels", None) from None
    finally:
        loader.dispose()
    return node, data
