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

from ..CWL.loader import is_cwl, load_cwl_plan, load_cwl_tool_step
from .builder import DatasetResolver, build_plan
from .errors import Issue, ProductionSpecError, SpecSyntaxError, SpecValidationError
from .legacy import LegacyTranslation, build_legacy_plan, legacy_to_native
from .models import ProductionFile
from .plan import Plan
from .source import SourceDocument, parse_document
from .validation import issues_from_validation_error, validated

__all__ = ["SourceDocument", "detect_format", "load_plan", "load_spec", "parse_document", "translate_legacy"]


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
    if text is None and path is not None and is_cwl(path):  # --- CWL files (docs/cwl.md): read by Core.CWL
        return load_cwl_plan(
            path, inputs=cwl_inputs, filename=filename, dataset_resolver=dataset_resolver,
            production_name=production_name,
        )
    document = _document(path, text, filename)
    name = document.filename
    try:
        if detect_format(document.data) == "legacy":
            return build_legacy_plan(
                document.data,
                source=name,
                production_name=production_name or _legacy_name(name),
                dataset_resolver=dataset_resolver,
            )
        spec = validated(ProductionFile, document.data)
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
    document = _document(path, text, filename)
    name = document.filename
    if detect_format(document.data) != "legacy":
        raise SpecValidationError([Issue(message="not a legacy CTADIRAC file (no top-level ProdSteps): it is"
                                         " already in the native format", file=name)])  # fmt: skip
    try:
        return legacy_to_native(document.data, production_name=production_name or _legacy_name(name),
                                dataset_resolver=dataset_resolver)  # fmt: skip
    except ProductionSpecError as exc:
        raise exc.with_issues(document.locate(exc.issues)) from None


def _document(path: str | Path | None, text: str | None, filename: str | None) -> SourceDocument:
    """The parsed document of ``text``, else of the file at ``path``; named ``filename``, else ``path``."""
    if text is None:
        if path is None:
            raise TypeError("give a path or a text")
        text = _read(path)
    return parse_document(text, filename or (str(path) if path is not None else None))


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
    base = Path(path).parent if path is not None else Path.cwd()
    jobs: dict[str, dict[str, Any]] = {}
    runs: dict[str, dict[str, Any]] = {}
    for key_path, cwl in {value for value in wanted.values()}:
        tool = base / cwl
        if not tool.is_file():
            issue = Issue(message=f"no CWL file '{cwl}' (looked for {tool})", path=tuple(key_path) + ("cwl",))
            raise SpecValidationError(document.locate([issue]))
        description, step_job = load_cwl_tool_step(tool)
        jobs[cwl] = description.model_dump(mode="json")
        runs[cwl] = step_job.model_dump(mode="json")
    productions = []
    for production in plan.productions:
        steps = []
        for step in production.steps:
            if step.name in wanted:
                extra = {**step.job.extra, "cwl": jobs[wanted[step.name][1]], "cwl_step": runs[wanted[step.name][1]]}
                step = step.model_copy(update={"job": step.job.model_copy(update={"extra": extra})})
            steps.append(step)
        productions.append(production.model_copy(update={"steps": steps}))
    return plan.model_copy(update={"productions": productions})
