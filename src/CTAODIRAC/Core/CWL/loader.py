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
from collections.abc import Mapping
from pathlib import Path

from ..Production.builder import DatasetResolver
from ..Production.errors import Issue, SpecValidationError
from ..Production.plan import Plan
from .document import CWLDocument, entries, read_cwl
from .job import CWLJobDescription, job_description, read_inputs
from .pack import pack_cwl
from .stepjob import CWLStepJob, is_file_type, self_contained, step_job, tool_file_name
from .validate import validate_process
from .workflow import lfn_files, workflow_plan

__all__ = ["is_cwl", "load_cwl", "load_cwl_job", "load_cwl_plan", "load_cwl_tool_step"]

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
    if document.process_class == "CommandLineTool" and "Production" in document.hints(document.root):
        import shutil

        document = _one_step_workflow(document)
        try:
            return load_cwl_plan(document.path, inputs=inputs, filename=document.name,
                                 dataset_resolver=dataset_resolver, production_name=production_name)
        finally:
            shutil.rmtree(document.path.parent, ignore_errors=True)
    if document.process_class != "Workflow":
        raise SpecValidationError([document.issue(("class",), (
            f"a {document.process_class} is one job, not a production: write a Workflow whose steps run it, or"
            " give the tool a dirac:Production hint whose inputs say which catalog files feed it (docs/cwl.md);"
            " run it locally with cwltool"))])  # fmt: skip
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



def load_cwl_tool_step(path: str | Path, name: str | None = None) -> tuple[CWLJobDescription, CWLStepJob]:
    """A CommandLineTool as the job template of a YAML ``executable`` step (``cwl:``): its job description and
    what each task runs (:class:`~.stepjob.CWLStepJob`). The task's files go to the tool's one File (or
    ``File[]``) input without a value; a tool with none, or with several, is refused (located in the tool)."""
    document = load_cwl(path, name)
    description = job_description(document, None, require_inputs=False)
    declared = {key: (entry, where) for key, entry, where in entries(document.data.get("inputs"), ("inputs",))}
    open_files = [key for key, (entry, _) in declared.items()
                  if key not in description.inputs
                  and is_file_type(entry.get("type") if isinstance(entry, Mapping) else entry)[0]]
    if len(open_files) != 1:
        which = f"several ({', '.join(open_files)})" if open_files else "none"
        raise SpecValidationError([document.issue(("inputs",), (
            f"a tool run by a transformation gets the task's files in its one File or File[] input without a"
            f" default; this tool has {which}"))])  # fmt: skip
    config = {key: value for key, value in description.inputs.items() if lfn_files(value)[0]}
    step = step_job(tool_file_name(Path(path).stem), self_contained(document.data) or pack_cwl(document.path),
                    {open_files[0]: []}, config_inputs=config, container_image=description.container_image)
    return description, step


def _one_step_workflow(tool: CWLDocument) -> CWLDocument:
    """A CommandLineTool with a ``dirac:Production`` hint as the one-step Workflow it stands for: the workflow's
    inputs and outputs are the tool's, its step (named after the tool's ``id``, else its file name) runs the tool
    file, and the tool's ``dirac:Production`` hint is the workflow's. One transformation, fed by the hint's
    query; the tool's ``dirac:Step`` hint says what it is. The workflow is read under the tool's name (messages
    and the plan's digest do not depend on where it is written)."""
    import json
    import tempfile

    data = tool.data
    name = str(data.get("id", "")).lstrip("#") or tool.path.stem
    inputs = {key: ({"type": entry.get("type"), **({"default": entry["default"]} if "default" in entry else {})}
                    if isinstance(entry, Mapping) else {"type": entry})
              for key, entry, _ in entries(data.get("inputs"), ("inputs",))}
    outputs = {}
    for key, entry, _ in entries(data.get("outputs"), ("outputs",)):
        cwl_type = entry.get("type") if isinstance(entry, Mapping) else entry
        outputs[key] = {"type": "File" if cwl_type in ("stdout", "stderr") else cwl_type,
                        "outputSource": f"{name}/{key}"}
    hints = [dict(hint) for hint in (data.get("hints") or []) if isinstance(hint, Mapping)
             and tool.hint_class(hint.get("class")) == "Production"] if isinstance(data.get("hints"), list) else [
        {"class": key, **dict(body)} for key, body in (data.get("hints") or {}).items()
        if tool.hint_class(key) == "Production"]
    workflow = {
        "cwlVersion": data.get("cwlVersion", "v1.2"), "class": "Workflow",
        "$namespaces": dict(data.get("$namespaces") or {}), "hints": hints, "inputs": inputs, "outputs": outputs,
        "steps": {name: {"run": tool.path.as_uri(), "in": {key: key for key in inputs}, "out": list(outputs)}},
    }  # fmt: skip
    directory = Path(tempfile.mkdtemp(prefix="cwl-tool-"))
    file = directory / tool.path.name
    file.write_text(json.dumps(workflow, indent=1, default=str), encoding="utf-8")
    return load_cwl(file, tool.name)
