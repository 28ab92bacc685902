"""A CWL CommandLineTool or Workflow plus an inputs file -> the description of one DIRAC job (pure data).

What goes where:

- the CWL file, the inputs file and every local File/Directory input -> the input sandbox;
- ``lfn://`` File inputs -> the job's input data (LFNs);
- outputs listed in ``dirac:Job.outputs`` -> output data (catalog path, metadata, SE);
  every other output (its glob; ``stdout``/``stderr`` outputs by their file name) -> the output sandbox;
- ``ResourceRequirement`` -> processors (``coresMin``, ``coresMax``) and memory (``ramMin``, MiB);
- ``DockerRequirement`` -> the container image; ``SoftwareRequirement`` -> software packages;
- ``dirac:Job`` -> job name, CPU time, sites, banned sites, tags.

A Workflow is one job too (cwltool runs every step on the worker): its inputs and outputs are the
workflow-level ones (a workflow output's sandbox name is the glob of the step output it comes from, when that
is a literal file name of a step that is not scattered), its resources the maximum ``coresMin``/``coresMax``/
``ramMin`` over the workflow, its steps and their tools, its container image the one image its steps name
(steps naming different images are refused: one job runs cwltool with one container runtime setting, and the
worker would run an image-less job with ``--no-container``). ``dirac:Production`` and ``dirac:Step`` hints
are ignored (they describe the production of :func:`~.workflow.workflow_plan`).

The DIRAC side (``Job`` API, running cwltool on the worker, registering outputs) is the job-side work;
this module only decides, and refuses what cannot work (unknown or missing inputs, missing local files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field

from ..Production.errors import Issue, KeyPath, SpecValidationError
from ..Production.source import SourceDocument, parse_document
from ..Production.models import OutputMetadata
from .document import CWLDocument, class_entries, display_name, entries, read_cwl, requirement
from .workflow import lfn_path

__all__ = ["CWLJobDescription", "OutputData", "SoftwarePackage", "job_description", "read_inputs"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class OutputData(_Model):
    """One output uploaded to the catalog."""

    output: str
    """Output id in the tool."""
    glob: str | None = None
    """The tool's glob for it (``None`` for ``stdout``/``stderr`` outputs without a file name)."""
    lfn: str
    """Catalog path: a directory when it ends with ``/`` (the file keeps its name)."""
    metadata: OutputMetadata = Field(default_factory=dict)
    """Metadata registered with the file."""
    se: str | None = None
    """Storage element (``None``: the configured default)."""


class SoftwarePackage(_Model):
    """A package of a ``SoftwareRequirement``."""

    package: str
    """Package name."""
    version: str | None = None
    """First version listed, if any."""


class CWLJobDescription(_Model):
    """One DIRAC job running a CWL CommandLineTool or Workflow with cwltool."""

    cwl: str
    """The CommandLineTool or Workflow file."""
    process_class: str = "CommandLineTool"
    """``CommandLineTool`` or ``Workflow``."""
    inputs_file: str | None = None
    """The inputs file (job order), if any."""
    name: str
    """Job name."""
    executable: str | None = None
    """The tool's ``baseCommand`` (for display and accounting)."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    """Input values (inputs file over the tool's defaults), as given."""
    input_sandbox: list[str] = Field(default_factory=list)
    """Local files shipped with the job: the CWL file, the inputs file, local File/Directory inputs."""
    input_data: list[str] = Field(default_factory=list)
    """LFNs of the ``lfn://`` inputs."""
    output_data: list[OutputData] = Field(default_factory=list)
    """Outputs uploaded to the catalog."""
    output_sandbox: list[str] = Field(default_factory=list)
    """Globs or file names of the other outputs."""
    sandbox_outputs: dict[str, str | None] = Field(default_factory=dict)
    """Output id -> its glob or file name (``None`` when the name is chosen at run time), for the outputs of
    the output sandbox."""
    processors: int | None = None
    """Processors (``ResourceRequirement.coresMin``)."""
    max_processors: int | None = None
    """Upper bound of processors (``coresMax``)."""
    memory_mb: int | None = None
    """Memory in MiB (``ramMin``)."""
    container_image: str | None = None
    """Container image (``DockerRequirement.dockerPull`` or ``dockerImageId``)."""
    software: list[SoftwarePackage] = Field(default_factory=list)
    """Software the tool needs (``SoftwareRequirement``)."""
    cpu_time: int | None = None
    """CPU time in seconds (``dirac:Job.cpu_time``)."""
    sites: list[str] = Field(default_factory=list)
    """Allowed sites."""
    banned_sites: list[str] = Field(default_factory=list)
    """Banned sites."""
    tags: list[str] = Field(default_factory=list)
    """Job tags."""
    ignored_hints: list[str] = Field(default_factory=list)
    """``dirac:`` production hints of a Workflow that a one-job run ignores (``dirac:Production``,
    ``dirac:Step`` of step ``merge``...)."""


def read_inputs(path: str | Path | None) -> tuple[dict[str, Any], SourceDocument | None, Path | None]:
    """Read a CWL inputs file (YAML or JSON); returns its data, its document (positions) and its path."""
    if path is None:
        return {}, None, None
    file = Path(path)
    name = display_name(file.resolve()) if file.is_absolute() else str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecValidationError([Issue(message=f"cannot read the inputs file: {exc}", file=name)]) from None
    if not text.strip():
        return {}, None, file.resolve()
    document = parse_document(text, name)
    return dict(document.data), document, file.resolve()


def _optional(cwl_type: Any) -> bool:
    if isinstance(cwl_type, str):
        return cwl_type.endswith("?") or cwl_type in ("null", "Any")
    if isinstance(cwl_type, list):
        return "null" in cwl_type
    return False


def _local(location: str, base: Path) -> Path | None:
    """Local path of a File/Directory location (``None`` for remote URLs)."""
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # http(s), s3... (a one-letter scheme is a drive)
        return None
    path = Path(location)
    return path if path.is_absolute() else (base / path)


def _walk_files(value: Any, path: KeyPath, found: list[tuple[str, KeyPath]]) -> None:
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            location = value.get("location") or value.get("path")
            if location is not None:
                key = "location" if "location" in value else "path"
                found.append((str(location), path + (key,)))
            for index, secondary in enumerate(value.get("secondaryFiles") or []):
                _walk_files(secondary, path + ("secondaryFiles", index), found)
            return
        for key, item in value.items():
            _walk_files(item, path + (key,), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_files(item, path + (index,), found)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    return None  # a CWL expression: known at run time only


def _glob(data: Mapping[str, Any], entry: Any) -> str | None:
    """The file name pattern of a CommandLineTool output (``stdout``/``stderr`` outputs: their file name)."""
    cwl_type = entry.get("type") if isinstance(entry, Mapping) else entry
    if cwl_type in ("stdout", "stderr"):
        return data.get(cwl_type) if isinstance(data.get(cwl_type), str) else None
    if isinstance(entry, Mapping):
        binding = entry.get("outputBinding") or {}
        pattern = binding.get("glob") if isinstance(binding, Mapping) else None
        return " ".join(pattern) if isinstance(pattern, list) else pattern
    return None


def _step_tool(workflow: CWLDocument, entry: Mapping[str, Any], path: KeyPath) -> CWLDocument | None:
    """The process a workflow step runs (inline, or another file; ``None`` for a ``#fragment`` reference)."""
    run = entry.get("run")
    if isinstance(run, Mapping):
        return workflow.inline(path + ("run",))
    reference = str(run).removeprefix("file://")
    if not reference or reference.startswith("#"):
        return None
    return read_cwl((workflow.path.parent / reference.split("#", 1)[0]).resolve())


def _processes(document: CWLDocument) -> list[tuple[CWLDocument, KeyPath]]:
    """The process, and for a Workflow each step and the process it runs (subworkflows walked), as
    ``(document, owner)`` pairs whose requirements count for the job."""
    found = [(document, document.root)]
    if document.process_class != "Workflow":
        return found
    for _key, entry, path in entries(document.data.get("steps"), document.root + ("steps",)):
        if not isinstance(entry, Mapping):
            continue
        found.append((document, path))
        tool = _step_tool(document, entry, path)
        if tool is not None:
            found.extend(_processes(tool))
    return found


def _workflow_globs(workflow: CWLDocument) -> dict[str, str | None]:
    """``step/output`` -> the glob of that output of the step's tool (only literal names of steps that
    are not scattered: a scattered step gives several files of that name)."""
    globs: dict[str, str | None] = {}
    for key, entry, path in entries(workflow.data.get("steps"), workflow.root + ("steps",)):
        if not isinstance(entry, Mapping) or entry.get("scatter"):
            continue
        tool = _step_tool(workflow, entry, path)
        if tool is None or tool.process_class != "CommandLineTool":
            continue
        for out, out_entry, _ in entries(tool.data.get("outputs"), tool.root + ("outputs",)):
            globs[f"{key}/{out}"] = _glob(tool.data, out_entry)
    return globs


def _ignored_hints(workflow: CWLDocument) -> list[str]:
    """The production hints of a Workflow and of its steps (and their tools), which one job ignores."""
    ignored: list[str] = []
    for document, owner in _processes(workflow):
        node = document.node(owner)
        for cls, _body, _path in class_entries(node.get("hints") if isinstance(node, Mapping) else None, ()):
            name = document.hint_class(cls)
            if name in ("Production", "Step"):
                where = "" if owner == document.root else f" of step '{owner[-1]}'"
                if document is not workflow and owner == document.root:
                    where = f" of {document.name}"
                if f"dirac:{name}{where}" not in ignored:
                    ignored.append(f"dirac:{name}{where}")
    return ignored


def _max(values: list[int | None]) -> int | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def job_description(
    tool: CWLDocument, inputs_path: str | Path | None = None, *, require_inputs: bool = True
) -> CWLJobDescription:
    """The DIRAC job of a validated CommandLineTool or Workflow and its inputs file (see the module
    docstring).

    ``require_inputs=False`` for the job template of a transformation step: its inputs are the files of
    each task, so a required input without a value is not an error; such a template runs one
    CommandLineTool (a Workflow is refused).
    """
    data = tool.data
    allowed = ("CommandLineTool", "Workflow") if require_inputs else ("CommandLineTool",)
    if tool.process_class not in allowed:
        raise SpecValidationError([tool.issue(tool.root + ("class",), f"a {tool.process_class} is not one job:"
                                              f" give a {' or a '.join(allowed)}")])
    is_workflow = tool.process_class == "Workflow"
    what = "workflow" if is_workflow else "tool"
    values, inputs_document, inputs_file = read_inputs(inputs_path)
    issues: list[Issue] = []

    def inputs_issue(path: KeyPath, message: str) -> Issue:
        if inputs_document is None:
            return tool.issue(tool.root + ("inputs",), message)
        line, column = inputs_document.position(path)
        return Issue(message=message, path=path, file=inputs_document.filename, line=line, column=column)

    declared = {key: (entry, path) for key, entry, path in entries(data.get("inputs"), tool.root + ("inputs",))}
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("cwl:") or key.startswith("$"):
            continue
        if key not in declared:
            issues.append(inputs_issue((key,), f"'{key}' is not an input of the {what}; inputs: {', '.join(declared)}"))
            continue
        resolved[key] = value
    for key, (entry, path) in declared.items():
        if key in resolved:
            continue
        cwl_type = entry.get("type") if isinstance(entry, Mapping) else entry
        default = entry.get("default") if isinstance(entry, Mapping) else None
        if default is not None:
            resolved[key] = default
        elif require_inputs and not _optional(cwl_type):
            issues.append(inputs_issue((), f"no value for the required input '{key}' of the {what}"))

    sandbox = [str(tool.path)] + ([str(inputs_file)] if inputs_file else [])
    input_data: list[str] = []
    for key, value in resolved.items():
        found: list[tuple[str, KeyPath]] = []
        _walk_files(value, (key,), found)
        from_inputs = key in values
        base = inputs_file.parent if (from_inputs and inputs_file) else tool.path.parent
        for location, where in found:
            if location.lower().startswith("lfn:"):
                lfn = lfn_path(location)
                if lfn not in input_data:
                    input_data.append(lfn)
                continue
            local = _local(location, base)
            if local is None:
                continue  # a URL: cwltool fetches it on the worker
            if not local.exists():
                message = f"input '{key}': the local file '{location}' does not exist"
                issues.append(inputs_issue(where, message) if from_inputs else tool.issue(
                    declared[key][1] + ("default",), message))
                continue
            shipped = os.path.abspath(local)  # not resolved: the job finds the file under the name given
            if shipped not in sandbox:
                sandbox.append(shipped)

    hints = tool.hints(tool.root)
    job_hint = hints["Job"].model if "Job" in hints else None
    outputs = {key: (entry, path) for key, entry, path in entries(data.get("outputs"), tool.root + ("outputs",))}
    output_data: list[OutputData] = []
    output_sandbox: list[str] = []
    sandbox_outputs: dict[str, str | None] = {}
    if job_hint is not None:
        for key in job_hint.outputs:
            if key not in outputs:
                issues.append(tool.issue(hints["Job"].path + ("outputs", key),
                                         f"'{key}' is not an output of the {what}; outputs: {', '.join(outputs)}"))
    step_globs = _workflow_globs(tool) if is_workflow else {}
    for key, (entry, _path) in outputs.items():
        cwl_type = entry.get("type") if isinstance(entry, Mapping) else entry
        if is_workflow:
            source = entry.get("outputSource") if isinstance(entry, Mapping) else None
            glob = step_globs.get(str(source).lstrip("#")) if isinstance(source, str) else None
            cwl_type = key  # the sandbox entry of an output without a known name: its id
        else:
            glob = _glob(data, entry)
        target = job_hint.outputs.get(key) if job_hint is not None else None
        if target is not None:
            output_data.append(OutputData(output=key, glob=glob, lfn=lfn_path(target.lfn) if target.lfn.lower(
            ).startswith("lfn:") else target.lfn, metadata=target.metadata, se=target.se))
        else:
            output_sandbox.append(glob or str(cwl_type))
            sandbox_outputs[key] = glob
    if issues:
        raise SpecValidationError(issues)

    processes = _processes(tool)
    resources = [found[0] for document, owner in processes
                 if (found := requirement(document, owner, "ResourceRequirement"))]
    images: dict[str, tuple[CWLDocument, KeyPath]] = {}
    for document, owner in processes:
        docker = requirement(document, owner, "DockerRequirement")
        image = (docker[0].get("dockerPull") or docker[0].get("dockerImageId")) if docker else None
        if image and image not in images:
            images[str(image)] = (document, docker[1])
    if len(images) > 1:
        document, where = list(images.values())[1]
        raise SpecValidationError([document.issue(where, (
            f"the steps name different container images ({', '.join(images)}); one job runs them all with one"
            " container setting: use one image (or none), or submit the workflow as a production"))])  # fmt: skip
    packages: list[SoftwarePackage] = []
    for document, owner in processes:
        software = requirement(document, owner, "SoftwareRequirement")
        for package in _packages(software[0]) if software else []:
            if package not in packages:
                packages.append(package)
    command = data.get("baseCommand")
    words = command if isinstance(command, list) else [command] if command else []
    name = (job_hint.job_name if job_hint else None) or str(data.get("id", "")).lstrip("#") or tool.path.stem
    return CWLJobDescription(
        cwl=str(tool.path),
        process_class=str(tool.process_class),
        inputs_file=str(inputs_file) if inputs_file else None,
        name=name,
        executable=" ".join(str(word) for word in words) or None,
        inputs=resolved,
        input_sandbox=sandbox,
        input_data=input_data,
        output_data=output_data,
        output_sandbox=output_sandbox,
        sandbox_outputs=sandbox_outputs,
        processors=_max([_int(found.get("coresMin")) for found in resources]),
        max_processors=_max([_int(found.get("coresMax")) for found in resources]),
        memory_mb=_max([_int(found.get("ramMin")) for found in resources]),
        container_image=next(iter(images), None),
        software=packages,
        cpu_time=job_hint.cpu_time if job_hint else None,
        sites=list(job_hint.sites) if job_hint else [],
        banned_sites=list(job_hint.banned_sites) if job_hint else [],
        tags=list(job_hint.tags) if job_hint else [],
        ignored_hints=_ignored_hints(tool) if is_workflow else [],
    )


def _packages(software: Mapping[str, Any]) -> list[SoftwarePackage]:
    """The packages of a ``SoftwareRequirement`` (list form, or the idmap form ``{name: {version: [...]}}``)."""
    listed = software.get("packages") or []
    if isinstance(listed, Mapping):
        return [
            SoftwarePackage(package=str(name), version=str((spec or {}).get("version", [None])[0] or "") or None)
            for name, spec in listed.items()
        ]
    packages = []
    for package in listed:
        if isinstance(package, Mapping):
            versions = package.get("version") or []
            packages.append(SoftwarePackage(package=str(package.get("package")),
                                            version=str(versions[0]) if versions else None))
        elif isinstance(package, str):
            packages.append(SoftwarePackage(package=package))
    return packages
