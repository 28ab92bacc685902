"""A YAML document as plain data plus the positions of its nodes, to locate every issue at file:line:column.

Shared by every format's reader (native, legacy, CWL): nothing here knows a format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import Issue, KeyPath, SpecSyntaxError

__all__ = ["SourceDocument", "parse_document"]


class SourceDocument:
    """A parsed YAML document: plain Python data for validation, ruamel nodes for positions."""

    def __init__(self, text: str, filename: str | None = None) -> None:
        self.filename = filename
        yaml = YAML(typ="rt", pure=True)
        yaml.allow_duplicate_keys = False
        try:
            self.nodes = yaml.load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = " ".join(part for part in (exc.context, exc.problem) if part)
            raise SpecSyntaxError(
                [
                    Issue(
                        message=f"not valid YAML: {problem}",
                        file=filename,
                        line=mark.line + 1 if mark else None,
                        column=mark.column + 1 if mark else None,
                    )
                ]
            ) from None
        except YAMLError as exc:
            raise SpecSyntaxError([Issue(message=f"not valid YAML: {exc}", file=filename)]) from None
        if not isinstance(self.nodes, Mapping):
            found = "an empty file" if self.nodes is None else "a list" if isinstance(self.nodes, list) else "a scalar"
            raise SpecSyntaxError(
                [
                    Issue(
                        message=f"a production file is a mapping at its top; found {found}",
                        file=filename,
                        line=1,
                        column=1,
                    )
                ]
            )
        self.data = _plain(self.nodes)

    def position(self, path: KeyPath) -> tuple[int | None, int | None]:
        """1-based line and column of the node at ``path`` (of its nearest existing ancestor if missing).

        A scalar is located at its value; a mapping or list at its key (or list item).
        """
        node: Any = self.nodes
        line, column = getattr(node.lc, "line", 0), getattr(node.lc, "col", 0)
        for element in path:
            try:
                if isinstance(node, CommentedMap) and element in node:
                    child = node[element]
                    scalar = not isinstance(child, CommentedMap | CommentedSeq)
                    line, column = node.lc.value(element) if scalar else node.lc.key(element)
                    node = child
                elif isinstance(node, CommentedSeq) and isinstance(element, int) and 0 <= element < len(node):
                    line, column = node.lc.item(element)
                    node = node[element]
                else:
                    break
            except (KeyError, TypeError, AttributeError):  # nodes created by merge keys carry no positions
                try:
                    node = node[element]
                except (KeyError, IndexError, TypeError):
                    break
        return line + 1, column + 1

    def locate(self, issues: list[Issue]) -> list[Issue]:
        """The issues with this document's file name and positions filled in."""
        located = []
        for issue in issues:
            line, column = self.position(issue.path)
            located.append(Issue(message=issue.message, path=issue.path, file=self.filename, line=line, column=column))
        return located


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists, str, int, float, bool."""
    if isinstance(node, Mapping):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def parse_document(text: str, filename: str | None = None) -> SourceDocument:
    """Parse YAML text; raises :class:`~.errors.SpecSyntaxError` with the position of a syntax error."""
    return SourceDocument(text, filename)
