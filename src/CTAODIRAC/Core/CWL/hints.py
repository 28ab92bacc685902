"""DIRAC-specific CWL ``hints``: typed pydantic models of the ``dirac:`` namespace.

A CWL file declares the namespace once and then uses the hint classes below::

    $namespaces:
      dirac: https://ctao.org/dirac/cwl#
    hints:
      - class: dirac:Step
        group_size: 5

The URI is an identifier only (nothing is fetched from it); any prefix mapped to it works, ``dirac`` is
the convention. cwltool ignores these hints (it does not know them), so the same files run locally.

- :class:`ProductionHint` (``dirac:Production``, on a Workflow): top-level inputs (catalog query or DFC
  dataset per workflow input), matrix, step defaults and the productions the steps go to.
- :class:`StepHint` (``dirac:Step``, on a workflow step or on the CommandLineTool it runs): the
  transformation made of that step (kind, name, metadata, group size, plugin, sites...).
- :class:`JobHint` (``dirac:Job``, on a CommandLineTool submitted as one job): job settings and the
  outputs uploaded to the catalog (``lfn``) with their metadata.

The field types are those of the YAML production format (:mod:`CTAODIRAC.Core.Production.models`), so a
value means the same in both. ``docs/cwl.md`` documents every field; the JSON Schema shipped in
``schema/`` is generated from these classes (``python -m CTAODIRAC.Core.CWL.schema --write``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..Production.models import (
    EXECUTABLE_TYPES,
    NAME_PATTERN,
    TEMPLATE_NAME_PATTERN,
    VARIABLE_PATTERN,
    Input,
    MetaValue,
    OutputMetadata,
    STEP_KINDS,
    PositiveInt,
    Query,
    StepDefaults,
)

__all__ = [
    "DIRAC_NAMESPACE",
    "HINT_MODELS",
    "DiracHint",
    "JobHint",
    "OutputDataHint",
    "ProductionHint",
    "ProductionInfo",
    "StepHint",
    "STEP_KINDS",
]

#: URI of the ``dirac:`` namespace (an identifier: nothing is fetched from it).
DIRAC_NAMESPACE = "https://ctao.org/dirac/cwl#"
# STEP_KINDS (from the production models): the kinds a ``dirac:Step`` may declare (default: ``executable``).

ProductionName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=120)]
Variable = Annotated[str, Field(pattern=VARIABLE_PATTERN)]
CWLIdentifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]


class _Hint(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True, strict=False
    )


# ------------------------------------------------------------------------------------------ Production
class ProductionInfo(_Hint):
    """Description of a further production that steps name with ``dirac:Step.production``."""

    description: str = ""
    """Free text stored with the production."""
    after: list[ProductionName] = Field(default_factory=list)
    """Productions to create before this one, besides those its steps' parents already imply."""


class ProductionHint(_Hint):
    """``dirac:Production`` on a Workflow: what turns the workflow into DIRAC productions."""

    class_: Literal["dirac:Production"] = Field(alias="class")
    """The hint class."""
    production: ProductionName | None = None
    """Production of the steps that do not name one (default: the workflow's ``id``, else the file name
    without extension)."""
    description: str = ""
    """Free text stored with that production."""
    after: list[ProductionName] = Field(default_factory=list)
    """Productions to create before that production."""
    inputs: dict[CWLIdentifier, Input] = Field(default_factory=dict)
    """Catalog files of the workflow's File/File[] inputs: ``{workflow input id: {query: {...}}}`` or
    ``{workflow input id: {dataset: NAME}}``. A step reading such an input is a first-level transformation
    whose input query is that query."""
    matrix: dict[
        Variable,
        list[dict[Variable, MetaValue]],
    ] = Field(default_factory=dict)
    """Named lists of variable sets; a step with ``foreach: NAME`` becomes one transformation per entry
    (as the YAML ``matrix``)."""
    defaults: StepDefaults = Field(default_factory=StepDefaults)
    """Values for every step that does not set them (as the YAML ``defaults``)."""
    productions: dict[ProductionName, ProductionInfo] = Field(default_factory=dict)
    """Further productions the steps may name with ``dirac:Step.production`` (description and ``after``);
    a production a step names is created even when it is not listed here."""

    @field_validator("matrix")
    @classmethod
    def _matrix_entries(cls, value: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        for name, entries in value.items():
            if not entries:
                raise ValueError(f"matrix '{name}' is empty")
        return value


# ------------------------------------------------------------------------------------------------ Step
class StepHint(StepDefaults):
    """``dirac:Step`` on a workflow step (or on the CommandLineTool it runs: values for every step running
    that tool; the step's own hint wins field by field): the transformation made of the step."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, populate_by_name=True, strict=False
    )

    class_: Literal["dirac:Step"] = Field(alias="class")
    """The hint class."""
    kind: Literal[STEP_KINDS] | None = None  # type: ignore[valid-type]
    """Step kind of the production format (DIRAC type and recorded metadata follow from it); default
    ``executable`` (the tool's ``baseCommand``)."""
    transformation: Annotated[str, Field(pattern=TEMPLATE_NAME_PATTERN, max_length=160)] | None = None
    """Name of the transformation (the step name in the plan); default: the CWL step id. Matrix variables
    (``process-$sample``) name each expansion."""
    production: ProductionName | None = None
    """Production holding the transformation (default: ``dirac:Production.production``)."""
    description: str = ""
    """Transformation description."""
    foreach: Variable | list[Variable] | None = None
    """One transformation per entry of the named matrix list (several names: every combination)."""
    only: dict[Variable, MetaValue] | None = None
    """Keep only the matrix entries whose variables have these values (a list: any of them)."""
    select: dict[CWLIdentifier, dict[Variable, MetaValue]] | None = None
    """For a step input fed by a step with ``foreach``: read only the expansions whose variables have these
    values (``{step input id: {variable: value}}``). Without it, a step with the same ``foreach`` reads
    the expansion of its own entry, any other step reads every expansion."""
    where: Query | None = None
    """Refinements of the input query."""
    options: str = ""
    """Extra command-line options of the program."""
    level: PositiveInt | None = None
    """``ctapipe-merge``: merge level (default: the parent's + 1)."""
    program: Literal["sim_telarray", "corsika"] | None = None
    """``mc-simulation``: the simulation program."""
    jobs: PositiveInt | None = None
    """``mc-simulation``: number of jobs."""
    showers: PositiveInt | None = None
    """``mc-simulation``: showers per job."""
    executable: Annotated[str, Field(min_length=1)] | None = None
    """``executable``: program recorded for the step (default: the first word of the tool's ``baseCommand``)."""
    transformation_type: Literal[EXECUTABLE_TYPES] | None = None  # type: ignore[valid-type]
    """``executable``: DIRAC transformation type (default DataReprocessing)."""
    program_category: Variable | None = None
    """``executable``: record ``<category>_prog`` and ``<category>_prog_version`` in the output query."""


# ------------------------------------------------------------------------------------------------- Job
class OutputDataHint(_Hint):
    """Where one output of a job goes in the catalog."""

    lfn: Annotated[str, Field(pattern=r"^(lfn:|LFN:)?/[^\s]*$")]
    """Catalog path (``lfn:///ctao/...`` or ``/ctao/...``); ending with ``/``: a directory, the file keeps
    its name."""
    metadata: OutputMetadata = Field(default_factory=dict)
    """Metadata registered with the file."""
    se: str | None = None
    """Storage element (default: the job's configured output SE)."""


class JobHint(_Hint):
    """``dirac:Job`` on a CommandLineTool submitted as one DIRAC job."""

    class_: Literal["dirac:Job"] = Field(alias="class")
    """The hint class."""
    job_name: str | None = None
    """Job name (default: the tool's id or file name)."""
    cpu_time: PositiveInt | None = None
    """CPU time in seconds."""
    sites: list[str] = Field(default_factory=list)
    """Sites the job may run at (empty: any)."""
    banned_sites: list[str] = Field(default_factory=list)
    """Sites the job must not run at."""
    tags: list[str] = Field(default_factory=list)
    """Job tags."""
    outputs: dict[CWLIdentifier, OutputDataHint] = Field(default_factory=dict)
    """Tool outputs uploaded to the catalog (``{output id: {lfn, metadata, se}}``); the other outputs go to
    the output sandbox."""


#: Hint models by class name (without the prefix).
HINT_MODELS: dict[str, type[BaseModel]] = {"Production": ProductionHint, "Step": StepHint, "Job": JobHint}

DiracHint = Annotated[ProductionHint | StepHint | JobHint, Field(discriminator="class_")]
"""Any ``dirac:`` hint."""
