"""The CWL CommandLineTool a transformation's jobs run, the pure part (never imports DIRAC).

A transformation made from a CWL workflow step (or from a YAML ``executable`` step with ``cwl:``) carries a
:class:`CWLStepJob` in its job-side configuration (``StepConfig.cwl``). Its jobs are ordinary production jobs:
``dirac-ctao-run-step`` downloads the inputs, configuration and model files, then, instead of the step kind's
built-in command, runs the tool with cwltool on a job order made here (:func:`task_job_orders`): the task's input
files bound to the tool's File inputs, the models and configuration files to theirs, the other inputs from the
workflow. The files of cwltool's output document (:func:`output_files`) are the task's outputs, stored and
registered exactly as a YAML step's (``<output dir>/<task>/<name>`` with the step's metadata).

Which task file goes to which tool input: each File input fed by the transformation's files lists the output
queries of the steps that feed it (empty: the catalog input, any file). A task file goes to the input whose
queries its metadata matches (a training step's ``signal`` and ``background`` read different samples); with one
such input every file goes there. A single-``File`` input given several files (a ``scatter`` step grouped by
``group_size``) runs the tool once per file, as the workflow's ``scatter`` would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import CTAODIRACError

__all__ = [
    "CWLStepJob",
    "TaskBindingError",
    "is_file_type",
    "output_files",
    "query_matches",
    "self_contained",
    "step_job",
    "task_job_orders",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CWLStepJob(_Model):
    """What each job of a transformation needs to run the step's CommandLineTool."""

    tool: str
    """File name the tool is written to in the job's working directory (``<tool>.cwl``)."""
    document: dict[str, Any]
    """The CommandLineTool, self-contained (a packed document when the file imports others)."""
    file_inputs: dict[str, list[dict[str, Any]]]
    """Tool input id -> the output queries (encoded) of the steps whose files it takes; ``[]``: any task file."""
    model_inputs: dict[str, list[str]] = Field(default_factory=dict)
    """Tool input id -> the training steps whose model files it takes, in order (apply-models)."""
    config_inputs: dict[str, Any] = Field(default_factory=dict)
    """Tool input id -> its value with ``lfn://`` File locations (downloaded with the step's ``config`` files)."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Other input values (strings, numbers...), given as they are."""
    arrays: list[str] = Field(default_factory=list)
    """The inputs of ``file_inputs`` and ``model_inputs`` that take a ``File[]`` (the others one ``File``)."""
    container_image: str | None = None
    """The tool's ``DockerRequirement`` image, if any (run with the configured container runtime)."""
    program: str | None = None
    """First word of the tool's ``baseCommand`` (checked in the software setup before anything runs)."""


class TaskBindingError(CTAODIRACError, ValueError):
    """A task's files cannot be given to the tool's inputs (none for an input, one fitting several...)."""


def is_file_type(cwl_type: Any) -> tuple[bool, bool]:
    """``(takes files, is an array)`` of a CWL input type (``File``, ``File?``, ``File[]``, long forms)."""
    if isinstance(cwl_type, str):
        base = cwl_type.rstrip("?")
        return base.removesuffix("[]") == "File", base.endswith("[]")
    if isinstance(cwl_type, Mapping):
        if cwl_type.get("type") == "array":
            return is_file_type(cwl_type.get("items"))[0], True
        return False, False
    if isinstance(cwl_type, list):
        members = [is_file_type(member) for member in cwl_type if member != "null"]
        if members and all(files for files, _ in members):
            return True, any(array for _, array in members)
    return False, False


def self_contained(document: Mapping[str, Any], cwl_version: str | None = None,
                   namespaces: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The tool as plain JSON data that runs alone (with the enclosing file's ``cwlVersion`` and ``$namespaces``
    for an inline tool), or ``None`` when it refers to other files (``$import``, ``$include``, ``$mixin``): pack
    it then."""
    data = json.loads(json.dumps(document, default=str))
    text = json.dumps(data)
    if any(mark in text for mark in ('"$import"', '"$include"', '"$mixin"')):
        return None
    if cwl_version and "cwlVersion" not in data:
        data["cwlVersion"] = cwl_version
    if namespaces and "$namespaces" not in data:
        data["$namespaces"] = dict(namespaces)
    data.pop("id", None)  # an id relative to another file would not resolve on the worker
    return data


def _declared_inputs(document: Mapping[str, Any]) -> dict[str, Any]:
    """Input id -> type of a CommandLineTool (plain or packed; list or map form)."""
    tool = document
    graph = document.get("$graph")
    if isinstance(graph, list):
        tool = next((p for p in graph if str(p.get("id", "")).endswith("#main")), graph[0])
    inputs = tool.get("inputs") or {}
    found: dict[str, Any] = {}
    if isinstance(inputs, Mapping):
        for key, entry in inputs.items():
            found[str(key)] = entry.get("type") if isinstance(entry, Mapping) else entry
    else:
        for entry in inputs:
            key = str(entry.get("id", "")).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
            found[key] = entry.get("type")
    return found


def step_job(tool: str, document: Mapping[str, Any], file_inputs: Mapping[str, list[dict[str, Any]]],
             model_inputs: Mapping[str, list[str]] | None = None, config_inputs: Mapping[str, Any] | None = None,
             parameters: Mapping[str, Any] | None = None, container_image: str | None = None) -> CWLStepJob:
    """A :class:`CWLStepJob`; which of the file and model inputs take arrays is read from the tool."""
    declared = _declared_inputs(document)
    models = dict(model_inputs or {})
    arrays = [key for key in [*file_inputs, *models] if is_file_type(declared.get(key))[1]]
    command = document.get("baseCommand")
    if isinstance(document.get("$graph"), list):
        graph = document["$graph"]
        command = next((p for p in graph if str(p.get("id", "")).endswith("#main")), graph[0]).get("baseCommand")
    words = command if isinstance(command, list) else [command] if command else []
    return CWLStepJob(
        tool=tool, document=dict(document), file_inputs={k: list(v) for k, v in file_inputs.items()},
        model_inputs=models, config_inputs=dict(config_inputs or {}), parameters=dict(parameters or {}),
        arrays=arrays, container_image=container_image, program=str(words[0]) if words else None,
    )  # fmt: skip


def _same(value: Any, wanted: Any) -> bool:
    if str(value) == str(wanted):
        return True
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return False


def query_matches(query: Mapping[str, Mapping[str, Any]], metadata: Mapping[str, Any]) -> bool:
    """Whether a file's metadata satisfies an encoded query (``{"=": v}``, ``{"in": [...]}``); a field the file
    does not carry is not held against it."""
    for key, condition in query.items():
        if key not in metadata or not isinstance(condition, Mapping):
            continue
        for operator, operand in condition.items():
            if operator == "=" and not _same(metadata[key], operand):
                return False
            if operator == "in" and not any(_same(metadata[key], item) for item in operand):
                return False
    return True


def _bind_files(step: CWLStepJob, files: Sequence[str], metadata: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    inputs = list(step.file_inputs)
    bound: dict[str, list[str]] = {key: [] for key in inputs}
    if not inputs:
        return bound
    for index, name in enumerate(files):
        if len(inputs) == 1:
            bound[inputs[0]].append(name)
            continue
        meta = metadata[index] if index < len(metadata) else {}
        fits = [key for key in inputs
                if not step.file_inputs[key] or any(query_matches(q, meta) for q in step.file_inputs[key])]
        if len(fits) != 1:
            why = "none" if not fits else "several: " + ", ".join(fits)
            raise TaskBindingError(f"input file {name} fits {why} of the tool's inputs {', '.join(inputs)}"
                                   " by its metadata")
        bound[fits[0]].append(name)
    return bound


def _downloaded(value: Any) -> Any:
    """A value with each ``lfn://`` File location replaced by the downloaded copy (the LFN's file name)."""
    if isinstance(value, Mapping):
        copy = {key: _downloaded(item) for key, item in value.items()}
        location = value.get("location")
        if value.get("class") in ("File", "Directory") and isinstance(location, str) and location.lower().startswith(
                "lfn:"):
            copy["location"] = PurePosixPath(location[4:]).name
        return copy
    if isinstance(value, list):
        return [_downloaded(item) for item in value]
    return value


def _file(name: str) -> dict[str, str]:
    return {"class": "File", "location": name}


def task_job_orders(step: CWLStepJob, files: Sequence[str], metadata: Sequence[Mapping[str, Any]],
                    models: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The job orders of one task (usually one; one per file when a single-``File`` input gets several).

    ``files``: the task's input files in the working directory, ``metadata`` their catalog metadata (same
    order); ``models``: training step -> its model file in the working directory. ``lfn://`` locations of the
    configuration inputs become the downloaded copies (the LFN's file name)."""
    bound = _bind_files(step, files, metadata)
    fixed: dict[str, Any] = dict(step.parameters)
    fixed.update({key: _downloaded(value) for key, value in step.config_inputs.items()})
    for key, steps in step.model_inputs.items():
        missing = [name for name in steps if name not in (models or {})]
        if missing:
            raise TaskBindingError(f"input '{key}': no model file of {', '.join(missing)}")
        chosen = [_file(models[name]) for name in steps]  # type: ignore[index]
        fixed[key] = chosen if key in step.arrays else chosen[-1]
    scattered: str | None = None
    for key, names in bound.items():
        if not names:
            raise TaskBindingError(f"input '{key}': no input file of this task goes to it")
        if key in step.arrays:
            fixed[key] = [_file(name) for name in names]
        elif len(names) == 1:
            fixed[key] = _file(names[0])
        elif scattered is None and len(bound) == 1:
            scattered = key
        else:
            raise TaskBindingError(f"input '{key}' takes one File, the task gives it {len(names)}")
    if scattered is None:
        return [fixed]
    return [{**fixed, scattered: _file(name)} for name in bound[scattered]]


def output_files(outputs: Mapping[str, Any]) -> list[str]:
    """Local paths of every File in cwltool's output document (nested arrays too), in output order."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping) and value.get("class") == "File":
            path = value.get("path") or str(value.get("location", "")).removeprefix("file://")
            if path:
                found.append(str(path))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for key in outputs:
        walk(outputs[key])
    return found


def tool_file_name(name: str) -> str:
    """``<name>.cwl`` for a step name (what the job writes the tool to)."""
    return f"{PurePosixPath(name).name}.cwl"
