"""The native production file: pydantic v2 models, the single schema of the format.

A file holds named top-level ``inputs`` (a catalog metadata query or a DFC dataset), ``matrix`` lists
for expansion, step ``defaults`` and one or more ``productions``, each a list of typed steps (``kind``).
Steps name their ``parents`` (any step of the file; a parent in another production makes that production
depend on the other) and refine (``where``) and add to (``output``) the metadata queries the builder
derives. ``docs/production-yaml.md`` documents every field; the JSON Schema shipped in ``schema/`` is
generated from these classes (``python -m CTAODIRAC.Core.Production.schema --write``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .metaquery import ALL_OPERATORS

__all__ = [
    "DEFAULT_SIMULATION_OUTPUTS",
    "JOB_PLACEHOLDERS",
    "PLACEHOLDER",
    "STEP_KINDS",
    "ApplyModelsStep",
    "DatasetInput",
    "ExecutableStep",
    "MCSimulationStep",
    "MergeStep",
    "ProcessStep",
    "ProductionFile",
    "ProductionSpec",
    "QueryInput",
    "Step",
    "StepDefaults",
    "TrainClassifierStep",
    "TrainEnergyStep",
    "TS_PLUGINS",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"
#: Step and production names may use matrix variables before expansion.
TEMPLATE_NAME_PATTERN = r"^[A-Za-z0-9$][A-Za-z0-9_.+${}-]*$"
METADATA_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Transformation plugins shipped with DIRAC 9.1 (TransformationSystem/Agent/TransformationPlugin.py).
TS_PLUGINS = ("Standard", "BySize", "ByShare", "Broadcast")
#: Files a simulation job collects when its step lists no ``outputs`` (by program).
DEFAULT_SIMULATION_OUTPUTS = {"sim_telarray": ("*.simtel.zst",), "corsika": ("*.corsika.zst",),
                              "simpipe": ("*.simtel.zst",)}
#: Placeholders a step's ``options`` (and an executable's ``arguments``) may use, replaced in each job.
JOB_PLACEHOLDERS = ("run_number", "task_id", "transformation_id", "showers")
#: How a placeholder is written (the job side replaces what the models let through).
PLACEHOLDER = re.compile(r"@\{([^}]*)\}")
#: An output file pattern: a glob in the job's working directory, no directories.
OUTPUT_PATTERN = r"^[^/\s]+$"
#: DIRAC transformation types a generic executable step may declare.
EXECUTABLE_TYPES = ("DataReprocessing", "Merging", "Training", "ApplyModel", "MCSimulation", "Processing")

_SCALAR_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}]}
_LIST_SCHEMA: dict[str, Any] = {"type": "array", "items": _SCALAR_SCHEMA, "minItems": 1}


def _scalar(value: Any, what: str = "a metadata value") -> str | int | float:
    if isinstance(value, bool):
        raise ValueError(
            f"{what} cannot be a boolean (the catalog knows strings, integers and floats); quote it: 'True' or 'False'"
        )
    if isinstance(value, str | int | float):
        return value
    raise ValueError(f"{what} must be a string, an integer or a float, not {type(value).__name__}")


def _scalar_list(value: Any) -> list[str | int | float]:
    if not value:
        raise ValueError("an empty list selects nothing; give at least one value")
    return [_scalar(item, f"item {index} of the list") for index, item in enumerate(value)]


def _value(value: Any) -> Any:
    """Output metadata and matrix values: a scalar or a non-empty list of scalars."""
    if isinstance(value, list):
        return _scalar_list(value)
    return _scalar(value)


def _condition(value: Any) -> Any:
    """Query values: a scalar, a non-empty list (any of), or a one-key operator mapping."""
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise ValueError(f"an operator mapping has exactly one key, one of {', '.join(ALL_OPERATORS)}")
        ((operator, operand),) = value.items()
        if operator not in ALL_OPERATORS:
            raise ValueError(f"unknown operator '{operator}' (allowed: {', '.join(ALL_OPERATORS)})")
        if operator in ("in", "nin"):
            if not isinstance(operand, list):
                raise ValueError(f"operator '{operator}' takes a list of values")
            return {operator: _scalar_list(operand)}
        if operator != "=" and isinstance(operand, list):
            raise ValueError(f"operator '{operator}' takes a single value")
        return {operator: _value(operand)}
    return _value(value)


MetaValue = Annotated[
    Any,
    PlainValidator(_value),
    WithJsonSchema({"anyOf": [_SCALAR_SCHEMA, _LIST_SCHEMA]}),
]
"""A metadata value: string, integer or float, or a list of them (any of the values)."""

MetaCondition = Annotated[
    Any,
    PlainValidator(_condition),
    WithJsonSchema(
        {
            "anyOf": [
                _SCALAR_SCHEMA,
                _LIST_SCHEMA,
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "propertyNames": {"enum": list(ALL_OPERATORS)},
                    "additionalProperties": {"anyOf": [_SCALAR_SCHEMA, _LIST_SCHEMA]},
                },
            ]
        }
    ),
]
"""A query condition: a value, a list (any of), or ``{operator: value}`` with one of DIRAC's operators."""


def _output_pattern(value: str) -> str:
    if not re.match(OUTPUT_PATTERN, value):
        raise ValueError(
            f"{value!r} is not a file pattern of the job's working directory (like '*.simtel.zst': no '/', no spaces)"
        )
    return value


OutputPattern = Annotated[str, AfterValidator(_output_pattern), WithJsonSchema({"type": "string",
                                                                                 "pattern": OUTPUT_PATTERN})]
"""A glob pattern (``*``, ``?``, ``[...]``) of files the job's program writes in its working directory."""

MetadataKey = Annotated[str, Field(pattern=METADATA_KEY_PATTERN)]
Query = dict[MetadataKey, MetaCondition]
OutputMetadata = dict[MetadataKey, MetaValue]


def _value_or_none(value: Any) -> Any:
    return None if value is None else _value(value)


OutputSetting = Annotated[
    Any,
    PlainValidator(_value_or_none),
    WithJsonSchema({"anyOf": [_SCALAR_SCHEMA, _LIST_SCHEMA, {"type": "null"}]}),
]
"""An output metadata value, or ``null``: the key is not recorded (removes what the input or the kind gives)."""
OutputSettings = dict[MetadataKey, OutputSetting]
StepName = Annotated[str, Field(pattern=TEMPLATE_NAME_PATTERN, max_length=160)]
PositiveInt = Annotated[int, Field(ge=1, strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, strict=False)


# --------------------------------------------------------------------------------------------- inputs
class QueryInput(_Model):
    """Files selected by a catalog metadata query."""

    query: Query = Field(min_length=1)
    """Catalog metadata the input files must have: ``key: value``, ``key: [v1, v2]`` (any of) or
    ``key: {op: value}`` with op one of ``=, in, !=, nin, >, >=, <, <=``."""
    description: str = ""
    """Free text shown in the dry run."""


class DatasetInput(_Model):
    """Files of a DFC dataset (its stored metadata query is read at submission)."""

    dataset: Annotated[str, Field(min_length=1)]
    """Name of the dataset in the DIRAC file catalog."""
    description: str = ""
    """Free text shown in the dry run."""


def _input_tag(value: Any) -> str:
    """Tell the two input shapes apart by their key, so that errors name the right one."""
    if isinstance(value, Mapping):
        return "dataset-input" if "dataset" in value else "query-input"
    return "dataset-input" if isinstance(value, DatasetInput) else "query-input"


Input = Annotated[
    Annotated[QueryInput, Tag("query-input")] | Annotated[DatasetInput, Tag("dataset-input")],
    Discriminator(_input_tag),
]


# ---------------------------------------------------------------------------------------------- steps
class StepDefaults(_Model):
    """Values applied to every step that does not set them itself."""

    version: str | None = None
    """Software version (e.g. ``v0.19.2``); also recorded as ``<category>_prog_version`` metadata."""
    group_size: PositiveInt | None = None
    """Input files per job (TS GroupSize). Built-in default: 1."""
    plugin: Literal[TS_PLUGINS] | None = None  # type: ignore[valid-type]
    """Transformation plugin grouping input files into tasks. Built-in default: Standard."""
    cpu_time: PositiveInt | None = None
    """CPU time requested per job, in seconds (HS06-normalised as DIRAC's ``setCPUTime``)."""
    processors: PositiveInt | None = None
    """Number of processors per job. Built-in default: 1."""
    tags: list[str] | None = None
    """Job tags (matched against the tags of the computing elements)."""
    sites: list[str] | None = None
    """Sites the jobs may run at (empty: any)."""
    banned_sites: list[str] | None = None
    """Sites the jobs must not run at."""
    input_limit: PositiveInt | None = None
    """At most this many input files are processed (for tests)."""
    output: OutputSettings | None = None
    """Metadata added to the output query of every step (e.g. ``MCCampaign``, ``configuration_id``); a key set
    to ``null`` is not recorded (on a step, it removes what the input query or the step kind gives)."""


class _StepBase(StepDefaults):
    name: StepName
    """Unique name of the step in the file (matrix variables ``$var`` allowed)."""
    description: str = ""
    """Free text, stored as the transformation description."""
    foreach: (
        Annotated[str, Field(pattern=VARIABLE_PATTERN)] | list[Annotated[str, Field(pattern=VARIABLE_PATTERN)]] | None
    ) = None
    """Expand this step once per entry of the named ``matrix`` list (several names: every combination)."""
    only: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], MetaValue] | None = None
    """Keep only the matrix entries whose variables have these values (a list: any of them)."""
    where: Query | None = None
    """Refinements of the input query, applied on top of what the input or the parents give."""
    options: str = ""
    """Extra command-line options passed to the program; ``@{run_number}``, ``@{task_id}``,
    ``@{transformation_id}`` and ``@{showers}`` are replaced in each job."""
    config: list[str] = Field(default_factory=list)
    """Configuration files (LFNs) given to the program."""

    @field_validator("options", "arguments", check_fields=False)
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        unknown = [name for name in PLACEHOLDER.findall(value) if name not in JOB_PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"unknown placeholder @{{{unknown[0]}}}: a job replaces only "
                + ", ".join(f"@{{{name}}}" for name in JOB_PLACEHOLDERS)
            )
        return value


class _ConsumingStep(_StepBase):
    input: Annotated[str, Field(pattern=TEMPLATE_NAME_PATTERN)] | None = None
    """Name of a top-level input this step reads (exclusive with ``parents``)."""
    parents: list[StepName] | None = None
    """Steps whose output files this step reads (its input query starts from their output queries)."""
    inherit: list[MetadataKey] | None = None
    """Keys of the input query that the output query carries, as they are (default: every key the input query
    gives one value or a list of values for). ``[]``: the output query is only what the kind and ``output`` give."""

    @model_validator(mode="after")
    def _one_source(self) -> _ConsumingStep:
        if self.input is None and not self.parents:
            raise ValueError("give either 'input' (a top-level input) or 'parents' (steps)")
        if self.input is not None and self.parents:
            raise ValueError("give either 'input' or 'parents', not both")
        return self


class ProcessStep(_ConsumingStep):
    """``ctapipe-process``: DL0 (or DL1) to DL1/DL2. DIRAC type DataReprocessing."""

    kind: Literal["ctapipe-process"]
    """Step kind."""


class MergeStep(_ConsumingStep):
    """``ctapipe-merge``: merge the parent's files. DIRAC type Merging."""

    kind: Literal["ctapipe-merge"]
    """Step kind."""
    level: PositiveInt | None = None
    """Merge level recorded as ``merged`` metadata; default: the parent's level + 1 (a parent without
    ``merged`` counts as 0). When given, the parent's output must be at level - 1."""


class TrainEnergyStep(_ConsumingStep):
    """``ctapipe-train-energy-regressor``: train the energy model. DIRAC type Training."""

    kind: Literal["ctapipe-train-energy"]
    """Step kind."""


class TrainClassifierStep(_ConsumingStep):
    """``ctapipe-train-particle-classifier``: train the gamma/hadron model, usually on several parents.
    DIRAC type Training."""

    kind: Literal["ctapipe-train-classifier"]
    """Step kind."""


class ApplyModelsStep(_ConsumingStep):
    """``ctapipe-apply-models``: apply trained models to data. DIRAC type ApplyModel."""

    kind: Literal["ctapipe-apply-models"]
    """Step kind."""
    models: list[StepName] = Field(default_factory=list)
    """Training steps whose models are applied (they become parents too; the job finds each model
    with that step's output query). Empty only in files translated from CTADIRAC's format, whose jobs find
    their models by their own settings: the dry run says "models: none"."""


class MCSimulationStep(_StepBase):
    """Monte Carlo simulation (sim_telarray, or CORSIKA only). No input. DIRAC type MCSimulation."""

    kind: Literal["mc-simulation"]
    """Step kind."""
    program: Literal["sim_telarray", "corsika", "simpipe"] = "sim_telarray"
    """Simulation program; recorded as ``tel_sim_prog`` (sim_telarray, simpipe) or ``airshower_sim_prog``
    (corsika)."""
    jobs: PositiveInt | None = None
    """Number of simulation jobs (tasks) to create. Without it, the transformation is created with no task: it is
    extended later (DIRAC's ``extendTransformation``, or a re-submission with ``jobs``), as CTADIRAC's files are."""
    showers: PositiveInt | None = None
    """Showers per job (``@{showers}`` in ``options``; ``CTAODIRAC_SHOWERS`` in the program's environment)."""
    outputs: list[OutputPattern] | None = Field(default=None, min_length=1)
    """Files each job uploads and registers, as glob patterns in its working directory (each must match at
    least one file). Default: ``*.simtel.zst`` (sim_telarray, simpipe) or ``*.corsika.zst`` (corsika)."""

    @model_validator(mode="after")
    def _no_query(self) -> MCSimulationStep:
        if self.where:
            raise ValueError("a simulation step has no input, so no 'where'")
        if not self.output:
            raise ValueError("a simulation step needs 'output' metadata (e.g. site, particle, array_layout)")
        return self


class ExecutableStep(_ConsumingStep):
    """Any program: the escape hatch. DIRAC type from ``transformation_type``."""

    kind: Literal["executable"]
    """Step kind."""
    executable: Annotated[str, Field(min_length=1)]
    """Program to run."""
    arguments: str = ""
    """Its arguments."""
    transformation_type: Literal[EXECUTABLE_TYPES] = "DataReprocessing"  # type: ignore[valid-type]
    """DIRAC transformation type."""
    program_category: Annotated[str, Field(pattern=VARIABLE_PATTERN)] | None = None
    """When set, the output query records ``<category>_prog`` = executable and ``<category>_prog_version``."""
    outputs: list[OutputPattern] = Field(default_factory=list)
    """Files each job uploads and registers, as glob patterns in its working directory (each must match at
    least one file, the inputs excepted). Empty: nothing is collected, and the step can have no children."""
    cwl: Annotated[str, Field(min_length=1, pattern=r"^[^$]+$")] | None = None
    """A CWL CommandLineTool (path relative to this file, no matrix variables) the jobs run: its job
    description (sandbox, requirements, container) is read from it and checked (docs/cwl.md)."""


Step = Annotated[
    ProcessStep
    | MergeStep
    | TrainEnergyStep
    | TrainClassifierStep
    | ApplyModelsStep
    | MCSimulationStep
    | ExecutableStep,
    Field(discriminator="kind"),
]

#: The step kinds of the format, in the order of the ``Step`` union (read from the models, not repeated).
STEP_KINDS: tuple[str, ...] = tuple(
    get_args(model.model_fields["kind"].annotation)[0] for model in get_args(get_args(Step)[0])
)


# ----------------------------------------------------------------------------------------- production
class ProductionSpec(_Model):
    """One DIRAC production: a set of steps submitted and started together."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=120)]
    """Unique production name."""
    description: str = ""
    """Free text stored with the production."""
    after: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(default_factory=list)
    """Productions to submit before this one, besides those its steps' parents already imply."""
    steps: list[Step] = Field(min_length=1)
    """The steps (see the step kinds)."""


class ProductionFile(_Model):
    """A native production file."""

    format: Literal[1] = 1
    """Version of this format."""
    inputs: dict[Annotated[str, Field(pattern=NAME_PATTERN)], Input] = Field(default_factory=dict)
    """Named top-level inputs: ``{query: {...}}`` or ``{dataset: NAME}``."""
    matrix: dict[
        Annotated[str, Field(pattern=VARIABLE_PATTERN)],
        list[dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], MetaValue]],
    ] = Field(default_factory=dict)
    """Named lists of variable sets; a step with ``foreach: NAME`` is repeated once per entry and
    ``$variable`` (or ``${variable}``) in its strings is replaced by the entry's value."""
    base_path: Annotated[str, Field(pattern=r"^/[^\s]*$")] | None = None
    """File catalog directory under which the output directories are made (the command's ``--base-path`` wins;
    default ``/ctao/productions``)."""
    defaults: StepDefaults = Field(default_factory=StepDefaults)
    """Values for every step that does not set them."""
    productions: list[ProductionSpec] = Field(min_length=1)
    """The productions."""

    @field_validator("matrix")
    @classmethod
    def _matrix_entries(cls, value: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        for name, entries in value.items():
            if not entries:
                raise ValueError(f"matrix '{name}' is empty")
        return value
