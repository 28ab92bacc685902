"""CWL files as documents: positions, ``dirac:`` hints, the shapes CWL allows for lists of things.

A CWL file is YAML (or JSON): it is parsed with the production loader's :class:`SourceDocument` so that
every key path has a line and a column, and CWL's alternative spellings are walked here with their paths:
``steps``/``inputs``/``outputs``/``in``/``hints``/``requirements`` as a list of entries or as a mapping
keyed by id (or class), step inputs given as a bare source, a list of sources or a mapping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..Production.errors import Issue, KeyPath, SpecSyntaxError, SpecValidationError
from ..Production.source import SourceDocument, parse_document
from ..Production.validation import issues_from_validation_error
from .hints import DIRAC_NAMESPACE, HINT_MODELS

__all__ = ["CWLDocument", "Hint", "display_name", "entries", "path_at", "read_cwl", "requirement"]

#: ``id``-keyed CWL fields (a list of mappings with ``id``, or a mapping id -> entry).
ID_FIELDS = ("inputs", "outputs", "steps", "in", "out")


def display_name(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return relative if not relative.startswith("..") else str(path)


@dataclass(frozen=True)
class Hint:
    """One validated ``dirac:`` hint and where it is."""

    name: str
    """Class without prefix: ``Production``, ``Step`` or ``Job``."""
    model: Any
    """The validated hint model."""
    path: KeyPath
    """Key path of the hint in its document."""
    document: CWLDocument
    """The document holding it."""


@dataclass
class CWLDocument:
    """A parsed CWL file (or inline process) with positions."""

    path: Path
    """Absolute path of the file."""
    name: str
    """File name for messages."""
    source: SourceDocument
    """Plain data and node positions."""
    root: KeyPath = ()
    """Key path of the process inside the file (an inline ``run`` is a process inside a workflow)."""
    prefixes: tuple[str, ...] = field(default=("dirac",))
    """Prefixes mapped to the ``dirac:`` namespace URI."""
    declared: tuple[str, ...] = ()
    """Every prefix declared in ``$namespaces``."""

    @property
    def data(self) -> Any:
        return self.node(self.root)

    def node(self, path: KeyPath) -> Any:
        node = self.source.data
        for element in path:
            node = node[element]
        return node

    def issue(self, path: KeyPath, message: str) -> Issue:
        """An issue at ``path`` (relative to the file's top), located."""
        line, column = self.source.position(path)
        return Issue(message=message, path=tuple(path), file=self.name, line=line, column=column)

    def error(self, path: KeyPath, message: str, kind: type[SpecValidationError] = SpecValidationError) -> Exception:
        return kind([self.issue(path, message)])

    def inline(self, path: KeyPath) -> CWLDocument:
        """The process written inline at ``path`` (e.g. a step's ``run``)."""
        return CWLDocument(self.path, self.name, self.source, tuple(path), self.prefixes, self.declared)

    @property
    def process_class(self) -> str | None:
        data = self.data
        return data.get("class") if isinstance(data, Mapping) else None

    def hint_class(self, value: Any) -> str | None:
        """``Step`` for ``dirac:Step`` (any prefix mapped to the namespace, or the full URI), else ``None``."""
        if not isinstance(value, str):
            return None
        if value.startswith(DIRAC_NAMESPACE):
            return value[len(DIRAC_NAMESPACE) :]
        prefix, sep, rest = value.partition(":")
        if sep and prefix in self.prefixes:
            return rest
        return None

    def hints(self, owner: KeyPath) -> dict[str, Hint]:
        """The ``dirac:`` hints of the process or step at ``owner``, validated, by class name."""
        node = self.node(owner)
        found: dict[str, Hint] = {}
        issues: list[Issue] = []
        hints = node.get("hints") if isinstance(node, Mapping) else None
        for cls, body, path in class_entries(hints, owner + ("hints",)):
            name = self.hint_class(cls)
            if name is None:
                if isinstance(cls, str) and cls.startswith("dirac:") and "dirac" not in self.declared:
                    issues.append(self.issue(path + ("class",), f"'{cls}': the prefix 'dirac' is not declared;"
                                             f" add `$namespaces: {{dirac: {DIRAC_NAMESPACE}}}`"))
                continue
            model = HINT_MODELS.get(name)
            if model is None:
                issues.append(self.issue(path + ("class",), f"unknown hint class 'dirac:{name}';"
                                         f" allowed: {', '.join('dirac:' + n for n in HINT_MODELS)}"))
                continue
            if name in found:
                issues.append(self.issue(path, f"dirac:{name} is given twice"))
                continue
            data = {key: value for key, value in body.items() if key != "class"}
            data["class"] = f"dirac:{name}"
            try:
                found[name] = Hint(name, model.model_validate(data), path, self)
            except ValidationError as exc:
                for issue in issues_from_validation_error(exc, data, model, path):
                    message = issue.message.replace("class_", "class")  # the alias is what users write
                    issues.append(self.issue(issue.path, message))
        if issues:
            raise SpecValidationError(issues)
        return found


def path_at(source: SourceDocument, line: int, column: int) -> KeyPath:
    """The key path of the node at 1-based ``line``/``column`` (the last node starting at or before it)."""
    best: KeyPath = ()
    best_position = (0, 0)
    target = (line - 1, column - 1)

    def visit(node: Any, path: KeyPath) -> None:
        nonlocal best, best_position
        positions: list[tuple[Any, tuple[int, int]]] = []
        try:
            if isinstance(node, CommentedMap):
                positions = [(key, tuple(node.lc.key(key))) for key in node]
            elif isinstance(node, CommentedSeq):
                positions = [(index, tuple(node.lc.item(index))) for index in range(len(node))]
        except (KeyError, TypeError, AttributeError):
            return
        for element, position in positions:
            if best_position <= position <= target:
                best, best_position = path + (element,), position
            visit(node[element], path + (element,))

    visit(source.nodes, ())
    return best


def class_entries(node: Any, path: KeyPath) -> Iterator[tuple[Any, Mapping[str, Any], KeyPath]]:
    """``(class, body, path)`` of each entry of a ``hints``/``requirements`` field (list or mapping)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, Mapping):
                yield item.get("class"), item, path + (index,)
    elif isinstance(node, Mapping):
        for cls, body in node.items():
            yield cls, (body if isinstance(body, Mapping) else {}), path + (cls,)


def requirement(document: CWLDocument, owner: KeyPath, cls: str) -> tuple[Mapping[str, Any], KeyPath] | None:
    """The CWL requirement ``cls`` of the process at ``owner``: ``requirements`` first, then ``hints``."""
    node = document.node(owner)
    if not isinstance(node, Mapping):
        return None
    for field_name in ("requirements", "hints"):
        for name, body, path in class_entries(node.get(field_name), owner + (field_name,)):
            if name == cls:
                return body, path
    return None


def entries(node: Any, path: KeyPath) -> Iterator[tuple[str, Any, KeyPath]]:
    """``(id, entry, path)`` of an id-keyed field given as a list or as a mapping (ids without ``#``)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, Mapping):
                yield str(item.get("id", "")).lstrip("#").rsplit("/", 1)[-1], item, path + (index,)
            else:  # ``out: [dl2]``
                yield str(item).lstrip("#"), item, path + (index,)
    elif isinstance(node, Mapping):
        for key, item in node.items():
            yield str(key).lstrip("#"), item, path + (key,)


def read_cwl(path: str | Path, name: str | None = None) -> CWLDocument:
    """Read and parse a CWL file (YAML syntax errors are located); no CWL validation here."""
    file = Path(path)
    shown = name or display_name(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecSyntaxError([Issue(message=f"cannot read the file: {exc}", file=shown)]) from None
    source = parse_document(text, shown)
    namespaces = source.data.get("$namespaces")
    if not isinstance(namespaces, Mapping):
        namespaces = {}
    prefixes = tuple(prefix for prefix, uri in namespaces.items() if uri == DIRAC_NAMESPACE)
    return CWLDocument(file.resolve(), shown, source, (), prefixes, tuple(namespaces))
