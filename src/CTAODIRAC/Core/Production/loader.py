"""Read a production file (native or legacy) into a checked :class:`~.plan.Plan`.

ruamel.yaml keeps the line and column of every node; every :class:`~.errors.Issue` raised while
validating or building is located through its key path, so a message reads
``campaign.yaml:42:9: productions[1].steps[0].parents[0]: unknown step 'merge1-gama' (did you mean ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .builder import DatasetResolver, build_plan
from .errors import Issue, KeyPath, ProductionSpecError, SpecSyntaxError, SpecValidationError
from .legacy import LegacyTranslation, build_legacy_plan, legacy_to_native
from .models import ProductionFile
from .plan import Plan
from .validation import issues_from_validation_error

__all__ = ["SourceDocument", "detect_format", "load_plan", "load_spec", "parse_document"]


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


def detect_format(data: Mapping[str, Any]) -> str:
    """``legacy`` for a CTADIRAC file (top-level ``ProdSteps``), else ``native``."""
    return "legacy" if "ProdSteps" in data and "productions" not in data else "native"


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecSyntaxError([Issue(message=f"cannot read the file: {exc}", file=str(path))]) from None


def load_spec(text: str, filename: str | None = None) -> tuple[ProductionFile, SourceDocument]:
    """Validate a native production file against the schema (no link checks)."""
    document = parse_document(text, filename)
    try:
        spec = ProductionFile.model_validate(document.data)
    except ValidationError as exc:
        raise SpecValidationError(
            document.locate(issues_from_validation_error(exc, document.data, ProductionFile))
        ) from None
    return spec, document


def load_plan(
    path: str | Path | None = None,
    *,
    text: str | None = None,
    filename: str | None = None,
    dataset_resolver: DatasetResolver | None = None,
    production_name: str | None = None,
    cwl_inputs: str | Path | None = None,
) -> Plan:
    """Read, validate and check a production file (native, legacy or CWL) and return its plan.

    Give ``path``, or ``text`` (with an optional ``filename`` for messages). ``production_name`` names the
    single production of a legacy file (default: the file's stem). Raises
    :class:`~.errors.ProductionSpecError` whose issues carry file, line, column and key path.
    A ``.cwl`` file (or one with a top-level ``cwlVersion``) is a CWL Workflow read by
    :func:`CTAODIRAC.Core.CWL.load_cwl_plan`, with ``cwl_inputs`` as its inputs file.
    """
    if text is None and path is not None:  # --- CWL files (docs/cwl.md): the same plan, read by Core.CWL
        from ..CWL.loader import is_cwl, load_cwl_plan

        if is_cwl(path):
            return load_cwl_plan(
                path,
                inputs=cwl_inputs,
                filename=filename,
                dataset_resolver=dataset_resolver,
                production_name=production_name,
            )
    if text is None:
        if path is None:
            raise TypeError("give a path or a text")
        text = _read(path)
    name = filename or (str(path) if path is not None else None)
    document = parse_document(text, name)
    try:
        if detect_format(document.data) == "legacy":
            return build_legacy_plan(
                document.data,
                source=name,
                production_name=production_name or _legacy_name(name),
                dataset_resolver=dataset_resolver,
            )
        try:
            spec = ProductionFile.model_validate(document.data)
        except ValidationError as exc:
            raise SpecValidationError(issues_from_validation_error(exc, document.data, ProductionFile)) from None
        plan = build_plan(spec, source=name, dataset_resolver=dataset_resolver)
    except ProductionSpecError as exc:
        raise exc.with_issues(document.locate(exc.issues)) from None
    return _with_cwl_jobs(plan, spec, document, path)


def translate_legacy(
    path: str | Path | None = None,
    *,
    text: str | None = None,
    filename: str | None = None,
    production_name: str | None = None,
    dataset_resolver: DatasetResolver | None = None,
) -> LegacyTranslation:
    """A legacy CTADIRAC file as the equivalent native file (``--to-native``); errors located in the legacy file.
    A file that is not in the legacy format is refused."""
    if text is None:
        if path is None:
            raise TypeError("give a path or a text")
        text = _read(path)
    name = filename or (str(path) if path is not None else None)
    document = parse_document(text, name)
    if detect_format(document.data) != "legacy":
        raise SpecValidationError([Issue(message="not a legacy CTADIRAC file (no top-level ProdSteps): it is"
                                         " already in the native format", file=name)])  # fmt: skip
    try:
        return legacy_to_native(document.data, production_name=production_name or _legacy_name(name),
                                dataset_resolver=dataset_resolver)  # fmt: skip
    except ProductionSpecError as exc:
        raise exc.with_issues(document.locate(exc.issues)) from None


def _legacy_name(name: str | None) -> str:
    return Path(name).stem if name else "legacy"


# --- CWL seam (docs/cwl.md): an ``executable`` step with ``cwl: TOOL`` gets the tool's job description
def _with_cwl_jobs(plan: Plan, spec: ProductionFile, document: SourceDocument, path: str | Path | None) -> Plan:
    """The plan with ``job.extra["cwl"]`` (a :class:`~CTAODIRAC.Core.CWL.job.CWLJobDescription`) for every
    step whose source step names a CWL CommandLineTool; errors located in the CWL file or at ``cwl``."""
    from .models import ExecutableStep

    wanted = {
        step.name: (step.source, source.cwl)
        for step in plan.steps
        if len(step.source) == 4
        and isinstance(source := spec.productions[step.source[1]].steps[step.source[3]], ExecutableStep)
        and source.cwl
    }
    if not wanted:
        return plan
    from ..CWL.loader import load_cwl_job

    base = Path(path).parent if path is not None else Path.cwd()
    jobs: dict[str, dict[str, Any]] = {}
    for key_path, cwl in {value for value in wanted.values()}:
        tool = base / cwl
        if not tool.is_file():
            issue = Issue(message=f"no CWL file '{cwl}' (looked for {tool})", path=tuple(key_path) + ("cwl",))
            raise SpecValidationError(document.locate([issue]))
        jobs[cwl] = load_cwl_job(tool, require_inputs=False).model_dump(mode="json")
    productions = []
    for production in plan.productions:
        steps = []
        for step in production.steps:
            if step.name in wanted:
                extra = {**step.job.extra, "cwl": jobs[wanted[step.name][1]]}
                step = step.model_copy(update={"job": step.job.model_copy(update={"extra": extra})})
            steps.append(step)
        productions.append(production.model_copy(update={"steps": steps}))
    return plan.model_copy(update={"productions": productions})
