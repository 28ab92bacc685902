"""The pure part of a production job: what to run, where outputs go, which metadata they carry, and what
each input file's fate is.

``dirac-ctao-run-step`` (``CTAODIRAC.WorkloadManagementSystem.scripts``) runs inside a DIRAC job with a
:class:`StepConfig` and does the DIRAC calls; the decisions are here and never import DIRAC.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import os
import re
import shlex
import shutil
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from CTAODIRAC.Core.CWL.stepjob import CWLStepJob
from CTAODIRAC.Core.Production.models import PLACEHOLDER
from CTAODIRAC.Core.Production.plan import PlannedStep
from CTAODIRAC.Core.Production.submission import FILE_LEVEL_FIELDS, registered_query

__all__ = [
    "FileFate",
    "Software",
    "StepConfig",
    "collect_outputs",
    "config_in_body",
    "decode_config",
    "encode_config",
    "file_metadata",
    "input_fates",
    "job_values",
    "output_lfn",
    "payload_command",
    "send_once",
    "step_config",
    "task_run_number",
    "with_job_values",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Software(_Frozen):
    """How a job sets up the step's software."""

    kind: Literal["none", "path", "container", "venv"] = "none"
    """``none``: the tool is on the worker's PATH; ``path``: prepend ``location``/bin (e.g. a CVMFS area);
    ``container``: run inside the image ``location`` (apptainer); ``venv``: a Python or conda environment."""
    location: str = ""
    """Directory, environment or image, depending on ``kind``."""

    def missing(self, program: str, path: str | None = None) -> str | None:
        """Why ``program`` cannot be run in this setup on this worker (None: it can be found), e.g. a software
        area that is not mounted here. ``path``: the worker's PATH (default: this process's). Containers are
        not looked into (the image is the container runtime's business)."""
        if self.kind == "container":
            return None
        search = os.environ.get("PATH", "") if path is None else path
        if self.kind in ("path", "venv"):
            area = Path(self.location) / "bin"
            if not area.is_dir():
                return f"software area {area} not found on this worker"
            search = f"{area}{os.pathsep}{search}"
        if shutil.which(program, path=search) is None:
            where = f" in {Path(self.location) / 'bin'} or" if self.kind in ("path", "venv") else ""
            return f"'{program}' not found{where} on the worker's PATH"
        return None

    def wrap(self, command: list[str]) -> list[str]:
        """The command run in this software setup."""
        if self.kind == "container":
            return ["apptainer", "exec", "--bind", ".", self.location, *command]
        if self.kind in ("path", "venv"):
            setup = f"export PATH={shlex.quote(str(Path(self.location) / 'bin'))}:\"$PATH\""
            return ["/bin/sh", "-c", f"{setup} && exec {shlex.join(command)}"]
        return command


class StepConfig(_Frozen):
    """What a production job needs to know about its step (embedded in the transformation body)."""

    step: str
    """Step name."""
    kind: str
    """Step kind (``ctapipe-process``, ``ctapipe-merge``, ..., ``executable``)."""
    program: str
    """Program to run."""
    options: list[str] = Field(default_factory=list)
    """Extra command-line arguments."""
    config: list[str] = Field(default_factory=list)
    """Configuration files (LFNs), downloaded next to the inputs and passed with ``--config``."""
    output_dir: str
    """Catalog directory of the step's outputs; each task writes under ``<output_dir>/<task>/``."""
    output_se: str
    """Storage element the outputs are uploaded to."""
    failover_ses: list[str] = Field(default_factory=list)
    """Storage elements tried (with a DIRAC failover request) when the upload to ``output_se`` fails."""
    output_metadata: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """The step's output query (encoded conditions); single values become file metadata."""
    file_level_fields: list[str] = Field(default_factory=list)
    """Metadata declared at file level in the catalog (set on each output file)."""
    inherited_fields: list[str] = Field(default_factory=list)
    """File-level metadata copied from the input files when all inputs agree (e.g. ``nsb``, ``split``)."""
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Apply-models: model step name -> the catalog query that finds its model file (the model step's output
    query without its several-valued conditions, which no output carries)."""
    software: Software = Field(default_factory=Software)
    """Software setup."""
    outputs: list[str] = Field(default_factory=list)
    """Simulation and generic executable steps: glob patterns of the files the payload writes that are
    uploaded and registered (the ctapipe kinds name their one output themselves)."""
    showers: int | None = None
    """Simulation: showers per job (``@{showers}``, ``CTAODIRAC_SHOWERS``)."""
    input_limit: int | None = Field(default=None, gt=0)
    """The step's ``input_limit``: at most this many input files in all for the transformation. Not used by the
    job: DIRAC's TransformationAgent (through our plugin) and the failure agent read it from the body."""
    cwl: CWLStepJob | None = None
    """A step described in CWL (a workflow step, or a YAML ``executable`` with ``cwl:``): the job runs this
    CommandLineTool with cwltool instead of the kind's built-in command (docs/cwl.md)."""


def encode_config(config: StepConfig) -> str:
    """The config as one shell-safe token (URL-safe base64 of its JSON) for the job's arguments.

    A step without ``input_limit`` (or ``cwl``) is encoded without the key, as before it existed: a job-side
    command of an earlier release (its model forbids unknown keys) still reads it."""
    exclude = {name for name in ("input_limit", "cwl") if getattr(config, name) is None} or None
    return base64.urlsafe_b64encode(config.model_dump_json(exclude=exclude).encode()).decode()


def decode_config(token: str) -> StepConfig:
    return StepConfig.model_validate_json(base64.urlsafe_b64decode(token.encode()))


#: An encoded StepConfig in a transformation body (the argument of dirac-ctao-run-step).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{40,}={0,2}")


def config_in_body(body: str) -> StepConfig | None:
    """The StepConfig a transformation body (job workflow XML) passes to ``dirac-ctao-run-step``, or None when
    the body runs something else."""
    if "dirac-ctao-run-step" not in body:
        return None
    for token in _TOKEN.findall(body):
        try:
            return decode_config(token)
        except (ValueError, binascii.Error):
            continue
    return None


def _output_name(config: StepConfig, inputs: list[str], task_id: int) -> str:
    stem = Path(inputs[0]).name.split(".")[0] if len(inputs) == 1 else f"{config.step}_{task_id:08d}"
    suffix = ".pkl" if config.kind in ("ctapipe-train-energy", "ctapipe-train-classifier") else ".h5"
    name = f"{stem}.{config.kind.removeprefix('ctapipe-')}{suffix}"
    if name in {Path(path).name for path in inputs}:  # e.g. a second merge of a merged file: never overwrite it
        name = f"{stem}.{config.step}{suffix}"
    return name


def payload_command(
    config: StepConfig,
    inputs: list[str],
    models: dict[str, str],
    task_id: int,
    particles: dict[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """``(command, outputs)``: what to run on the local input files and the files it must produce.

    ``models`` maps each model step to its local model file (apply-models); ``particles`` gives each input
    file's ``particle`` metadata (the classifier trains gammas as signal against the rest).
    """
    out = _output_name(config, inputs, task_id)
    cfg = [arg for path in config.config for arg in ("--config", Path(path).name)]
    if config.kind == "ctapipe-process":
        cmd = [config.program, f"--input={inputs[0]}", f"--output={out}", *cfg]
    elif config.kind == "ctapipe-merge":
        cmd = [config.program, *inputs, f"--output={out}", *cfg]
    elif config.kind in ("ctapipe-train-energy", "ctapipe-train-classifier"):
        inputs_args = [f"--input={path}" for path in inputs]
        if config.kind == "ctapipe-train-classifier":
            kinds = particles or {}
            signal = [p for p in inputs if kinds.get(p, "").startswith("gamma")]
            background = [p for p in inputs if p not in signal]
            if len(signal) != 1 or len(background) != 1:
                raise ValueError(f"the classifier needs one gamma and one background file, got {kinds or inputs}")
            inputs_args = [f"--signal={signal[0]}", f"--background={background[0]}"]
        cmd = [config.program, *inputs_args, f"--output={out}", *cfg]
    elif config.kind == "ctapipe-apply-models":
        # in the order the step lists its models: ctapipe applies them in turn, and a classifier may use the
        # energy an earlier model reconstructed (the campaign's apply steps list train-energy first)
        order = [name for name in config.models if name in models] + [n for n in models if n not in config.models]
        reconstructors = [f"--reconstructor={models[name]}" for name in order]
        cmd = [config.program, f"--input={inputs[0]}", f"--output={out}", *reconstructors, *cfg]
    else:  # generic executable and simulation: inputs appended; outputs found by collect_outputs
        return config.software.wrap([config.program, *config.options, *inputs]), []
    return config.software.wrap([*cmd, *config.options]), [out]


def task_run_number(input_metadata: list[dict[str, Any]], task_id: int) -> int | None:
    """The run number of a task's outputs: the one all its inputs share; for a task without inputs (a
    simulation job) its task ID, so that the jobs of a transformation simulate runs 1, 2, 3..."""
    if not input_metadata:
        return task_id
    numbers = {int(meta["run_number"]) for meta in input_metadata if "run_number" in meta}
    if len(numbers) == 1 and all("run_number" in meta for meta in input_metadata):
        return numbers.pop()
    return None


def job_values(config: StepConfig, transformation_id: int, task_id: int, run_number: int | None) -> dict[str, str]:
    """What a job knows about itself, by placeholder name (``@{name}`` in the step's options; also in the
    payload's environment as ``CTAODIRAC_<NAME>``). Unknown values (no run number) are left out."""
    values = {"transformation_id": str(transformation_id), "task_id": str(task_id)}
    if run_number is not None:
        values["run_number"] = str(run_number)
    if config.showers is not None:
        values["showers"] = str(config.showers)
    return values


def with_job_values(config: StepConfig, values: Mapping[str, str]) -> StepConfig:
    """The config with ``@{name}`` in its options replaced by the job's values. A placeholder without a value
    here (``@{run_number}`` of a task whose inputs have different run numbers) raises ValueError."""

    def one(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{match.group(0)} has no value in this job (known: {', '.join(sorted(values))})")
        return values[match.group(1)]

    return config.model_copy(update={"options": [PLACEHOLDER.sub(one, option) for option in config.options]})


def collect_outputs(
    patterns: Iterable[str], before: Collection[str], after: Iterable[str], exclude: Collection[str] = ()
) -> tuple[list[str], list[str]]:
    """``(files, unmatched)``: the files of the working directory that the payload wrote (in ``after`` but not
    in ``before``, never one of ``exclude`` such as the step's log) matching any pattern, sorted; and the
    patterns that matched none of them."""
    new = sorted(name for name in set(after) - set(before) if name not in exclude)
    patterns = list(patterns)
    files = [name for name in new if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]
    unmatched = [pattern for pattern in patterns if not any(fnmatch.fnmatchcase(name, pattern) for name in new)]
    return files, unmatched


def output_lfn(config: StepConfig, task_id: int, local_name: str) -> str:
    return f"{config.output_dir.rstrip('/')}/{task_id:08d}/{Path(local_name).name}"


def file_metadata(config: StepConfig, input_metadata: list[dict[str, Any]], run_number: int | None = None) -> dict[str, Any]:
    """File-level metadata of an output: the step's single-valued file-level output fields, then the
    inherited fields on which all inputs agree, then the run number."""
    meta: dict[str, Any] = {}
    for key, cond in config.output_metadata.items():
        if key in config.file_level_fields and len(cond) == 1:
            ((operator, operand),) = cond.items()
            if operator == "=":
                meta[key] = operand
    for key in config.inherited_fields:
        values = {repr(m[key]) for m in input_metadata if key in m}
        if len(values) == 1 and all(key in m for m in input_metadata):
            meta[key] = input_metadata[0][key]
    if run_number is not None and "run_number" in config.file_level_fields:
        meta["run_number"] = run_number
    return meta


FileFate = Literal["Processed", "Failover", "Untouched"]


def input_fates(payload_ok: bool, outputs_expected: int, registered: int, failover: int) -> FileFate:
    """What happens to the task's input files.

    - Processed: the payload succeeded and every output is uploaded and registered;
    - Failover: every output is either registered or in a DIRAC failover request: the input files are set
      Processed by the same request, after its uploads succeed (never before);
    - Untouched: anything else: the files stay Assigned and the job ends Failed with a status the failure
      agent reads (it decides retry or give-up).
    """
    if not payload_ok or registered + failover < outputs_expected:
        return "Untouched"
    return "Processed" if failover == 0 else "Failover"


#: Pauses (s) between tries of sending a job's failover request: DIRAC's request service can fail a call when
#: its database connection was lost (after a database restart), and succeed on the next.
SEND_PAUSES = (2.0, 5.0, 15.0, 30.0)


def send_once(send: Callable[[], str | None], stored: Callable[[], bool | None],
              pause: Callable[[float], None], pauses: Iterable[float] = SEND_PAUSES) -> tuple[bool, list[str]]:
    """Send something that must arrive once (a job's failover request) through a service that may fail a call.

    ``send`` returns ``None`` when the service took it, else why not. After a failure, ``stored`` says whether
    it was taken anyway (stored, then the answer lost): ``True`` ends there; ``False`` or ``None`` (cannot
    tell) tries again after the next of ``pauses``. Returns whether it arrived and each failure seen.
    """
    failures: list[str] = []
    for wait in (*pauses, None):
        why = send()
        if why is None:
            return True, failures
        failures.append(why)
        if stored():
            return True, failures
        if wait is None:
            break
        pause(wait)
    return False, failures


def step_config(
    step: PlannedStep,
    output_dir: str,
    output_se: str,
    failover_ses: list[str] | None = None,
    software: Software | None = None,
    file_level_fields: frozenset[str] | None = None,
) -> StepConfig:
    """The job-side configuration of a planned step."""
    file_level = FILE_LEVEL_FIELDS if file_level_fields is None else file_level_fields
    job = step.job
    options = [part for part in shlex.split(job.options)] + shlex.split(job.arguments)
    cwl = CWLStepJob.model_validate(job.extra["cwl_step"]) if job.extra.get("cwl_step") else None
    return StepConfig(
        step=step.name,
        kind=step.kind,
        program=(cwl.program if cwl is not None else None) or job.program or "true",
        options=options,
        config=list(job.config),
        output_dir=output_dir,
        output_se=output_se,
        failover_ses=list(failover_ses or []),
        output_metadata=dict(step.output_query),
        file_level_fields=sorted(file_level),
        inherited_fields=sorted(f for f in file_level if f not in step.output_query and f != "run_number"),
        models={name: registered_query(query) for name, query in job.models.items()},
        software=software or Software(),
        outputs=list(job.outputs),
        showers=job.showers,
        input_limit=job.input_limit,
        cwl=cwl,
    )
