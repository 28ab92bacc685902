"""CWL validation by cwltool (schema, references, types of connections), errors as located issues.

cwltool (schema-salad) reports problems as a tree of ``ValidationException`` whose nodes carry a file, a
line and a column (``checking field 'steps'`` > ``checking object '...#merge'`` > the problem), or, for
the static checker of connections, as text lines ``file:line:column: message``. Both become
:class:`~CTAODIRAC.Core.Production.errors.Issue` objects with the key path spelled out from the tree.
cwltool's own logging (warnings about the ``dirac:`` hints it does not know) is silenced meanwhile.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..Production.errors import Issue, KeyPath, ProductionSpecError, SpecValidationError
from ..Production.source import parse_document
from .document import display_name, path_at

__all__ = ["CWLValidationError", "validate_process"]

_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+):(?P<text>.*)$")
_CHECKING_FIELD = re.compile(r"^checking field '([^']+)'")
_CHECKING_OBJECT = re.compile(r"^checking object '[^#']*#([^']+)'")


class CWLValidationError(SpecValidationError):
    """cwltool refuses the CWL document (syntax of CWL, unknown references, incompatible connections)."""


@contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("cwltool", "salad", "rdflib")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _file_name(file: str | None, main: Path, main_name: str) -> str | None:
    if not file:
        return None
    path = Path(file.removeprefix("file://"))
    resolved = path.resolve() if path.is_absolute() else (Path.cwd() / path).resolve()
    return main_name if resolved == main else display_name(resolved)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _tree_issues(exc: Any, main: Path, main_name: str) -> list[Issue]:
    issues: list[Issue] = []

    def walk(node: Any, keys: KeyPath, location: tuple[str | None, int | None, int | None]) -> None:
        start = getattr(node, "start", None)
        file = getattr(node, "file", None)
        if file and start:
            location = (_file_name(file, main, main_name), start[0], start[1])
        message = str(getattr(node, "message", "") or "")
        field = _CHECKING_FIELD.match(message)
        obj = _CHECKING_OBJECT.match(message)
        if field:
            keys = keys + (field.group(1),)
        elif obj:
            keys = keys + (obj.group(1).rsplit("/", 1)[-1],)
        children = list(getattr(node, "children", None) or [])
        if children:
            for child in children:
                walk(child, keys, location)
        elif message and not message.startswith("checking "):
            issues.append(Issue(message=_squash(message), path=keys, file=location[0], line=location[1],
                                column=location[2]))
        elif message:
            issues.append(Issue(message=_squash(message), path=keys, file=location[0], line=location[1],
                                column=location[2]))

    walk(exc, (), (main_name, None, None))
    return issues


def _text_issues(text: str, main: Path, main_name: str) -> list[Issue]:
    issues: list[Issue] = []
    current: dict[str, Any] | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = _LOCATED.match(raw)
        body = match.group("text") if match else raw
        if match and body.strip() and not body.startswith("  ") and not body.lstrip().startswith(("Warning",)):
            current = {
                "file": _file_name(match.group("file"), main, main_name),
                "line": int(match.group("line")),
                "column": int(match.group("column")),
                "text": [body.strip()],
            }
            issues.append(current)  # type: ignore[arg-type]
        elif current is not None:
            if match and body.strip().startswith("with sink"):  # the sink is the step input to fix
                current.update(file=_file_name(match.group("file"), main, main_name), line=int(match.group("line")),
                               column=int(match.group("column")))
            current["text"].append(body.strip())
        else:
            current = {"file": main_name, "line": None, "column": None, "text": [body.strip()]}
            issues.append(current)  # type: ignore[arg-type]
    return [
        Issue(message=_squash(" ".join(item["text"])), file=item["file"], line=item["line"], column=item["column"])
        for item in issues  # type: ignore[union-attr]
    ]


def validate_process(path: Path, name: str) -> Any:
    """Load and validate the CWL process in ``path`` with cwltool; returns cwltool's process object.

    Raises :class:`CWLValidationError` with located issues.
    """
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool
    from cwltool.workflow import default_make_tool
    from schema_salad.exceptions import ValidationException

    main = path.resolve()
    with _quiet():
        context = LoadingContext()
        context.construct_tool_object = default_make_tool
        context.do_update = False
        context.strict = True
        try:
            return load_tool(main.as_uri(), context)
        except ValidationException as exc:
            issues = _tree_issues(exc, main, name) if getattr(exc, "children", None) else []
            if not issues or all(issue.line is None for issue in issues):
                issues = _text_issues(str(exc), main, name) or issues
        except Exception as exc:  # cwltool raises other exceptions too (WorkflowException, unsupported...)
            issues = _text_issues(str(exc), main, name) or [Issue(message=_squash(str(exc)), file=name)]
    raise CWLValidationError([_complete(issue, main, name) for issue in issues])


def _complete(issue: Issue, main: Path, name: str) -> Issue:
    """Say it is CWL's verdict; find the key path of a position given without one (static checker)."""
    path = issue.path
    if not path and issue.line is not None and issue.column is not None and issue.file:
        file = main if issue.file == name else Path(issue.file)
        try:
            source = parse_document(file.read_text(encoding="utf-8"), issue.file)
            path = path_at(source, issue.line, issue.column)
        except (OSError, UnicodeDecodeError, ProductionSpecError):
            path = ()
    return Issue(message=f"not valid CWL: {issue.message}", path=path, file=issue.file, line=issue.line,
                 column=issue.column)
