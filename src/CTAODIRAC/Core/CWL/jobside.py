"""The job side of one CWL job, the pure part: what the DIRAC job is made of, and what the worker does.

``dirac-ctao-submit-cwl-job`` turns a :class:`~.job.CWLJobDescription` into :class:`DiracJobSettings` (the
calls of DIRAC's ``Job`` API, as data) whose executable is ``dirac-ctao-cwl-run`` with a :class:`CWLRunConfig`
(base64 JSON, one shell word). On the worker, ``dirac-ctao-cwl-run``:

1. writes the job order with each ``lfn://`` File replaced by the local copy DIRAC downloaded (the LFN's
   basename, :func:`localize_job_order`) and each local file by its input-sandbox copy (done at submission,
   :func:`sandbox_job_order`);
2. runs cwltool (:func:`cwltool_command`; the container runtime comes from the CS);
3. uploads and registers the catalog outputs (:func:`catalog_uploads`, :func:`metadata_plan`) and copies the
   others where the output sandbox finds them (:func:`sandbox_copies`).

Nothing here imports DIRAC; the DIRAC calls are in ``CTAODIRAC.WorkloadManagementSystem``.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field

from ..errors import CTAODIRACError
from ..Production.errors import Issue, SpecValidationError
from ..Production.submission import FILE_LEVEL_FIELDS
from .job import CWLJobDescription, OutputData
from .workflow import lfn_path

__all__ = [
    "CONTAINER_RUNTIMES",
    "CWLTOOL_ENTRY",
    "JOB_ORDER",
    "LOG_FILE",
    "OUTPUTS_JSON",
    "RUN_COMMAND",
    "CWLRunConfig",
    "CatalogUpload",
    "DiracJobSettings",
    "MetadataPlan",
    "OutputError",
    "catalog_uploads",
    "container_options",
    "cwltool_command",
    "decode_run_config",
    "encode_run_config",
    "job_settings",
    "localize_job_order",
    "metadata_plan",
    "run_config",
    "sandbox_copies",
    "sandbox_job_order",
    "sandbox_place",
]

#: The worker-side command, installed with this package on the worker node.
RUN_COMMAND = "dirac-ctao-cwl-run"
#: Its log (stdout and stderr, cwltool's messages included), in the output sandbox.
LOG_FILE = "cwl-run.log"
#: cwltool's output document, as the worker saw it plus where each output went; in the output sandbox.
OUTPUTS_JSON = "cwl-outputs.json"
#: The job order the worker writes and gives cwltool.
JOB_ORDER = "cwl-job-order.json"

#: How the worker starts cwltool: its console-script entry point, whose exit code says whether the tool
#: succeeded (``python -m cwltool`` always exits 0: cwltool's ``__main__`` drops the code).
CWLTOOL_ENTRY = "import sys; from cwltool.main import run; sys.exit(run())"

#: ``Operations/<VO>/CTAODIRAC/ContainerRuntime`` values -> cwltool options for a tool with a container image.
CONTAINER_RUNTIMES: dict[str, list[str]] = {
    "none": ["--no-container"],
    "docker": [],
    "podman": ["--podman"],
    "singularity": ["--singularity"],
    "apptainer": ["--singularity"],
}

_EXPRESSION = re.compile(r"\$[({]")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CWLRunConfig(_Model):
    """What ``dirac-ctao-cwl-run`` needs (the job's argument)."""

    tool: str
    """File name of the CWL document (the CommandLineTool or Workflow, packed) in the input sandbox."""
    job_order: dict[str, Any] = Field(default_factory=dict)
    """Input values; local files by their input-sandbox name, catalog files still ``lfn://``."""
    output_data: list[OutputData] = Field(default_factory=list)
    """Outputs uploaded to the catalog."""
    sandbox_outputs: dict[str, str | None] = Field(default_factory=dict)
    """Output id -> glob, for the outputs of the output sandbox."""
    container_image: str | None = None
    """The tool's container image, if any."""


class DiracJobSettings(_Model):
    """The DIRAC job of a CWL job, as the values given to DIRAC's ``Job`` API."""

    name: str
    """``setName``."""
    executable: str = RUN_COMMAND
    """``setExecutable``: the worker-side command..."""
    arguments: str
    """... its argument (the encoded :class:`CWLRunConfig`)..."""
    log_file: str = LOG_FILE
    """... and its log."""
    input_sandbox: list[str] = Field(default_factory=list)
    """``setInputSandbox``: local paths."""
    input_data: list[str] = Field(default_factory=list)
    """``setInputData``: LFNs."""
    output_sandbox: list[str] = Field(default_factory=list)
    """``setOutputSandbox``: file names or globs in the job's working directory (a directory is tarred)."""
    cpu_time: int | None = None
    """``setCPUTime`` (seconds)."""
    processors: int | None = None
    """``setNumberOfProcessors(minNumberOfProcessors=...)``."""
    max_processors: int | None = None
    """``setNumberOfProcessors(maxNumberOfProcessors=...)``."""
    memory_mb: int | None = None
    """``setRAMRequirements(ramRequired=...)`` (MB)."""
    tags: list[str] = Field(default_factory=list)
    """``setTag``."""
    sites: list[str] = Field(default_factory=list)
    """``setDestination``."""
    banned_sites: list[str] = Field(default_factory=list)
    """``setBannedSites``."""
    config: CWLRunConfig
    """The worker's configuration (decoded ``arguments``), for display."""

    def processor_arguments(self) -> dict[str, int]:
        """Keyword arguments of ``Job.setNumberOfProcessors`` (empty: a single-processor job). ``coresMin``
        alone asks for exactly that many processors; with ``coresMax``, a range."""
        if self.max_processors is not None:
            return {"minNumberOfProcessors": self.processors or 1, "maxNumberOfProcessors": self.max_processors}
        if self.processors is not None and self.processors > 1:
            return {"numberOfProcessors": self.processors}
        return {}


def encode_run_config(config: CWLRunConfig) -> str:
    """One shell-safe word: URL-safe base64 of the JSON."""
    return base64.urlsafe_b64encode(config.model_dump_json().encode()).decode()


def decode_run_config(token: str) -> CWLRunConfig:
    return CWLRunConfig.model_validate_json(base64.urlsafe_b64decode(token.encode()))


def _is_lfn(location: str) -> bool:
    return location.lower().startswith("lfn:")


def _is_remote(location: str) -> bool:
    scheme = urlparse(location).scheme
    return len(scheme) > 1 and scheme != "file"  # http(s), s3...; a one-letter scheme is a drive


def _name(location: str) -> str:
    """The file name of a local path or ``file://`` URL."""
    parsed = urlparse(location)
    path = unquote(parsed.path) if parsed.scheme == "file" else location
    return PurePosixPath(path.replace("\\", "/").rstrip("/")).name


def _map_locations(value: Any, change: Any) -> Any:
    """A copy of an input value with ``change(location)`` applied to every File/Directory location."""
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            copy = dict(value)
            for key in ("location", "path"):
                if isinstance(copy.get(key), str):
                    copy[key] = change(copy[key])
            if isinstance(copy.get("secondaryFiles"), list):
                copy["secondaryFiles"] = [_map_locations(item, change) for item in copy["secondaryFiles"]]
            return copy
        return {key: _map_locations(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_locations(item, change) for item in value]
    return value


def sandbox_job_order(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The input values with each local File/Directory named as the input sandbox delivers it (its file name
    in the job's working directory); ``lfn://`` and remote locations are kept."""

    def change(location: str) -> str:
        return location if _is_lfn(location) or _is_remote(location) else _name(location)

    return {key: _map_locations(value, change) for key, value in inputs.items()}


def localize_job_order(job_order: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(job order, local names)``: each ``lfn://`` location replaced by the file DIRAC's input data policy
    downloaded (the LFN's file name, in the working directory), and the names it expects there."""
    names: list[str] = []

    def change(location: str) -> str:
        if not _is_lfn(location):
            return location
        name = PurePosixPath(lfn_path(location)).name
        if name not in names:
            names.append(name)
        return name

    return {key: _map_locations(value, change) for key, value in job_order.items()}, names


def sandbox_place(output: str, glob: str | None) -> tuple[str, str]:
    """``(output sandbox entry, directory)`` of a sandbox output: a literal glob is matched by its last
    component in the working directory (directory ``"."``); an output whose name is known only at run time
    (a CWL expression, an unnamed ``stdout``) is copied into a directory named after its id, which DIRAC
    tars into ``<id>.tar``."""
    if glob and not _EXPRESSION.search(glob) and " " not in glob:
        return PurePosixPath(glob).name, "."
    return output, output


def run_config(desc: CWLJobDescription) -> CWLRunConfig:
    return CWLRunConfig(
        tool=PurePosixPath(desc.cwl.replace("\\", "/")).name,
        job_order=sandbox_job_order(desc.inputs),
        output_data=list(desc.output_data),
        sandbox_outputs=dict(desc.sandbox_outputs),
        container_image=desc.container_image,
    )


def _collisions(what: str, names: list[str]) -> list[str]:
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    return [f"two {what} would have the same name '{name}' in the job's working directory" for name in twice]


def job_settings(desc: CWLJobDescription, name: str | None = None) -> DiracJobSettings:
    """The DIRAC job of a CWL job description. Refuses (with :class:`SpecValidationError`) what would not work
    on the worker: input files (sandbox or input data) of the same file name, output metadata values that
    are lists."""
    where = desc.inputs_file or desc.cwl
    problems = _collisions(
        "input files", [_name(path) for path in desc.input_sandbox] + [PurePosixPath(lfn).name for lfn in desc.input_data]
    )
    for output in desc.output_data:
        for key, value in output.metadata.items():
            if isinstance(value, list | dict):
                problems.append(f"output '{output.output}': metadata '{key}' must be one value, not {value!r}")
    if desc.max_processors is not None and desc.max_processors < (desc.processors or 1):
        problems.append(f"ResourceRequirement: coresMax ({desc.max_processors}) is below coresMin ({desc.processors or 1})")
    if problems:
        raise SpecValidationError([Issue(message=message, file=where) for message in problems])
    config = run_config(desc)
    sandbox = [LOG_FILE, OUTPUTS_JSON]
    for output, glob in desc.sandbox_outputs.items():
        entry, _ = sandbox_place(output, glob)
        if entry not in sandbox:
            sandbox.append(entry)
    return DiracJobSettings(
        name=name or desc.name,
        arguments=encode_run_config(config),
        input_sandbox=list(desc.input_sandbox),
        input_data=list(desc.input_data),
        output_sandbox=sandbox,
        cpu_time=desc.cpu_time,
        processors=desc.processors,
        max_processors=desc.max_processors,
        memory_mb=desc.memory_mb,
        tags=list(desc.tags),
        sites=list(desc.sites),
        banned_sites=list(desc.banned_sites),
        config=config,
    )


def container_options(image: str | None, runtime: str) -> list[str]:
    """cwltool's container options: none without an image; else those of ``runtime`` (see
    :data:`CONTAINER_RUNTIMES`; ``none`` runs the tool on the worker's own software, which cwltool refuses
    when the tool *requires* its container)."""
    if runtime not in CONTAINER_RUNTIMES:
        raise ValueError(f"container runtime {runtime!r} is not one of {', '.join(CONTAINER_RUNTIMES)}")
    if image is None:
        return ["--no-container"]
    return list(CONTAINER_RUNTIMES[runtime])


def cwltool_command(python: str, config: CWLRunConfig, runtime: str, outdir: str = "cwl-outdir",
                    tmpdir: str = "cwl-tmp", job_order: str = JOB_ORDER) -> list[str]:
    """The cwltool command line run in the job's working directory (outputs under ``outdir``, temporary
    directories under ``tmpdir``, both relative to it; the inputs in ``job_order``)."""
    return [
        python, "-c", CWLTOOL_ENTRY, "--disable-color",
        *container_options(config.container_image, runtime),
        "--outdir", outdir, "--tmpdir-prefix", f"{tmpdir}/tmp", "--tmp-outdir-prefix", f"{tmpdir}/out",
        config.tool, job_order,
    ]  # fmt: skip


class OutputError(CTAODIRACError, ValueError):
    """cwltool's outputs do not give what the job must store; ``output`` names the output, ``stage`` says
    whose fault it is: ``payload`` (the tool did not produce it) or ``upload`` (nowhere to store it)."""

    def __init__(self, output: str, message: str, stage: Literal["payload", "upload"] = "payload"):
        super().__init__(f"output '{output}': {message}")
        self.output = output
        self.stage = stage


class CatalogUpload(_Model):
    """One file to upload and register."""

    output: str
    """Output id."""
    path: str
    """Local path (as cwltool gives it)."""
    lfn: str
    """Where it is registered."""
    se: str
    """Storage element."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Catalog metadata of the file."""


def _files(value: Any) -> list[Mapping[str, Any]]:
    """The File objects of an output value (a File, a list of Files, nested lists; ``None`` -> none)."""
    if isinstance(value, Mapping) and value.get("class") == "File":
        return [value]
    if isinstance(value, list):
        return [file for item in value for file in _files(item)]
    return []


def _local_path(file: Mapping[str, Any]) -> str:
    if isinstance(file.get("path"), str):
        return file["path"]
    location = str(file.get("location", ""))
    parsed = urlparse(location)
    return unquote(parsed.path) if parsed.scheme == "file" else location


def catalog_uploads(config: CWLRunConfig, outputs: Mapping[str, Any], default_se: str) -> list[CatalogUpload]:
    """The uploads of the catalog outputs given cwltool's output document. An output that produced no file,
    several files for one LFN that is not a directory, or two files for one LFN is an :class:`OutputError`;
    so is an output without storage element when none is configured (``default_se`` empty)."""
    uploads: list[CatalogUpload] = []
    for target in config.output_data:
        files = _files(outputs.get(target.output))
        if not files:
            raise OutputError(target.output, "the tool produced no file for it")
        directory = target.lfn.endswith("/")
        if len(files) > 1 and not directory:
            raise OutputError(target.output, f"{len(files)} files for the single LFN {target.lfn} (end it with '/')")
        se = target.se or default_se
        if not se:
            raise OutputError(target.output, "no storage element: neither dirac:Job nor the CS (CTAODIRAC/OutputSE)"
                                             " names one", "upload")
        for file in files:
            name = str(file.get("basename") or PurePosixPath(_local_path(file)).name)
            lfn = f"{target.lfn}{name}" if directory else target.lfn
            uploads.append(CatalogUpload(output=target.output, path=_local_path(file), lfn=lfn, se=se,
                                         metadata=dict(target.metadata)))
    lfns = [upload.lfn for upload in uploads]
    for lfn in {lfn for lfn in lfns if lfns.count(lfn) > 1}:
        raise OutputError(next(u.output for u in uploads if u.lfn == lfn), f"two files would be registered at {lfn}")
    return uploads


def sandbox_copies(config: CWLRunConfig, outputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(local path, destination)`` of each file of the sandbox outputs: where the output sandbox finds it
    (see :func:`sandbox_place`). Missing optional outputs have no copy."""
    copies: list[tuple[str, str]] = []
    for output, glob in config.sandbox_outputs.items():
        _, directory = sandbox_place(output, glob)
        for file in _files(outputs.get(output)):
            name = str(file.get("basename") or PurePosixPath(_local_path(file)).name)
            copies.append((_local_path(file), name if directory == "." else f"{directory}/{name}"))
    return copies


class MetadataPlan(_Model):
    """How an output's metadata goes into the DIRAC file catalog."""

    declare_file: dict[str, str] = Field(default_factory=dict)
    """Fields to declare as file metadata first (name -> ``str``/``int``/``float``)."""
    declare_directory: dict[str, str] = Field(default_factory=dict)
    """Fields to declare as directory metadata first."""
    file: dict[str, Any] = Field(default_factory=dict)
    """Set on the file."""
    directory: dict[str, Any] = Field(default_factory=dict)
    """Set on the file's directory."""
    conflicts: list[str] = Field(default_factory=list)
    """Directory fields whose directory already holds another value: the output cannot carry its metadata."""


def _field_type(value: Any) -> str:
    if isinstance(value, bool | int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def metadata_plan(metadata: Mapping[str, Any], directory_fields: Mapping[str, str],
                  file_fields: Mapping[str, str], directory_values: Mapping[str, Any],
                  file_level: frozenset[str] = FILE_LEVEL_FIELDS) -> MetadataPlan:
    """Where each metadata value of an output goes in the catalog, which finds a file by a field only where
    the field lives. A field the catalog declares as file metadata is set on the file; one it declares as
    directory metadata is set on the output's directory (``directory_values``: what that directory holds,
    inherited values included; another value there is a conflict). A field the catalog does not know is
    declared first (undeclared fields would be stored as strings), the way a production declares it:
    file metadata when it is one of ``file_level``, else directory metadata."""
    plan: dict[str, dict[str, Any]] = {"declare_file": {}, "declare_directory": {}, "file": {}, "directory": {}}
    conflicts: list[str] = []
    for key, value in metadata.items():
        value = int(value) if isinstance(value, bool) else value
        if key not in directory_fields and key not in file_fields:
            on_file = key in file_level
            plan["declare_file" if on_file else "declare_directory"][key] = _field_type(value)
        else:
            on_file = key in file_fields
        if on_file:
            plan["file"][key] = value
        elif key in directory_values:
            if str(directory_values[key]) != str(value):
                conflicts.append(f"{key}: the directory holds {directory_values[key]!r}, the output wants {value!r}")
        else:
            plan["directory"][key] = value
    return MetadataPlan(**plan, conflicts=conflicts)
