"""Read CWL files: validation by cwltool, then the ``dirac:`` hints, then the production builder.

- :func:`load_cwl_plan`: a Workflow (with ``dirac:`` hints) -> the checked :class:`Plan` (the same as a
  YAML production file gives);
- :func:`load_cwl_job`: a CommandLineTool or Workflow and its inputs file -> :class:`CWLJobDescription` (one job);
  this is also the seam through which a YAML ``executable`` step uses a CWL file (``cwl:``);
- :func:`is_cwl`: whether a file is CWL (``.cwl`` suffix, or a top-level ``cwlVersion``).

Every problem is a :class:`~CTAODIRAC.Core.Production.errors.ProductionSpecError` whose issues carry
file, line, column and key path, so the command reports it like a YAML problem (exit code 2).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..Production.builder import DatasetResolver
from ..Production.errors import Issue, SpecValidationError
from ..Production.plan import Plan
from .document import CWLDocument, entries, read_cwl
from .job import CWLJobDescription, job_description, read_inputs
from .validate import validate_process
from .workflow import workflow_plan

__all__ = ["is_cwl", "load_cwl", "load_cwl_job", "load_cwl_plan"]

_CWL_VERSION = re.compile(r"^(cwlVersion\s*:|\{?\s*\"cwlVersion\"\s*:)", re.MULTILINE)


def is_cwl(path: str | Path | None, text: str | None = None) -> bool:
    """A ``.cwl`` file, or a text with a top-level ``cwlVersion`` key."""
    if path is not None and Path(path).suffix.lower() == ".cwl":
        return True
    if text is None and path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
    return bool(text and _CWL_VERSION.search(text))


def load_cwl(path: str | Path, name: str | None = None) -> CWLDocument:
    """Read a CWL file and validate it with cwltool (located errors)."""
    document = read_cwl(path, name)
    validate_process(document.path, document.name)
    return document


def load_cwl_plan(
    path: str | Path,
    *,
    inputs: str | Path | None = None,
    filename: str | None = None,
    dataset_resolver: DatasetResolver | None = None,
    production_name: str | None = None,
) -> Plan:
    """A CWL Workflow with ``dirac:`` hints (and an optional inputs file for its parameters) as a plan.

    ``production_name`` overrides ``dirac:Production.production``. Raises
    :class:`~CTAODIRAC.Core.Production.errors.ProductionSpecError` with located issues.
    """
    document = load_cwl(path, filename)
    if document.process_class != "Workflow":
        raise SpecValidationError([document.issue(("class",), (
            f"a {document.process_class} is one job, not a production: write a Workflow whose steps run it"
            " (docs/cwl.md); run it locally with cwltool"))])  # fmt: skip
    values, inputs_document, _ = read_inputs(inputs)
    known = [key for key, _, _ in entries(document.data.get("inputs"), ("inputs",))]
    unknown = [key for key in values if key not in known and not key.startswith(("cwl:", "$"))]
    if unknown and inputs_document is not None:
        line, column = inputs_document.position((unknown[0],))
        raise SpecValidationError([Issue(
            message=f"'{unknown[0]}' is not an input of the workflow; inputs: {', '.join(known)}",
            path=(unknown[0],), file=inputs_document.filename, line=line, column=column)])  # fmt: skip
    return workflow_plan(
        document, inputs=values, dataset_resolver=dataset_resolver, production_name=production_name
    )


def load_cwl_job(
    path: str | Path,
    inputs: str | Path | None = None,
    name: str | None = None,
    *,
    require_inputs: bool = True,
) -> CWLJobDescription:
    """The DIRAC job of a CommandLineTool or Workflow and its inputs file (located errors).

    ``require_inputs=False`` when the tool is the job template of a transformation (YAML ``cwl:``; a
    CommandLineTool only).
    """
    return job_description(load_cwl(path, name), inputs, require_inputs=require_inputs)

