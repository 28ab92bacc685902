"""The production plan: what will be created in DIRAC, fully checked, independent of the input format.

Both the native format and the legacy CTADIRAC format are turned into a :class:`Plan`. The plan is what the
dry run prints, what ``--json`` emits (:meth:`Plan.to_json_dict`) and what the DIRAC adapter submits.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import KeyPath
from .metaquery import MetaQuery

__all__ = ["JobDescription", "Plan", "PlannedProduction", "PlannedStep"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class JobDescription(_Frozen):
    """What each job of a transformation runs and where (turned into the workflow body by the adapter)."""

    program: str | None = None
    """Program run by the job (``ctapipe-process``, ``sim_telarray``, an executable...)."""
    version: str | None = None
    """Software version."""
    options: str = ""
    """Extra command-line options."""
    arguments: str = ""
    """Arguments (generic executables)."""
    config: list[str] = Field(default_factory=list)
    """Configuration files (LFNs)."""
    cpu_time: int | None = None
    """CPU time per job in seconds (``None``: DIRAC's default)."""
    processors: int = 1
    """Processors per job."""
    tags: list[str] = Field(default_factory=list)
    """Job tags."""
    sites: list[str] = Field(default_factory=list)
    """Allowed sites (empty: any)."""
    banned_sites: list[str] = Field(default_factory=list)
    """Banned sites."""
    input_limit: int | None = None
    """At most this many input files are processed (tests)."""
    jobs: int | None = None
    """Number of jobs of an input-less (simulation) transformation."""
    showers: int | None = None
    """Showers per simulation job."""
    outputs: list[str] = Field(default_factory=list)
    """Glob patterns of the files each job uploads and registers (simulation and generic executable steps;
    the ctapipe kinds name their outputs themselves)."""
    models: dict[str, MetaQuery] = Field(default_factory=dict)
    """For apply-models steps: model step name -> the catalog query that finds its model files."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Other settings passed through unchanged (legacy ``job_config`` keys)."""


class PlannedStep(_Frozen):
    """One production step, i.e. one transformation."""

    name: str
    """Step name, unique in the file."""
    kind: str
    """Step kind of the native format (legacy types are mapped to these)."""
    type: str
    """DIRAC transformation type."""
    production: str
    """Name of the production holding the step."""
    parents: list[str] = Field(default_factory=list)
    """Every step this one depends on: data parents first, then model parents."""
    data_parents: list[str] = Field(default_factory=list)
    """Steps whose output files this step's input query selects (checked by DIRAC's link rules)."""
    model_parents: list[str] = Field(default_factory=list)
    """Training steps whose models the jobs read (apply-models)."""
    input: str | None = None
    """Name of the top-level input read, if any."""
    dataset: str | None = None
    """DFC dataset whose query seeds the input query, if any."""
    dataset_resolved: bool = True
    """False while the dataset's stored query has not been read (offline dry run)."""
    input_query: MetaQuery | None = None
    """Encoded input meta-query (``None``: the step has no input, e.g. simulation)."""
    output_query: MetaQuery = Field(default_factory=dict)
    """Encoded output meta-query (the metadata of the files the step produces)."""
    group_size: int = 1
    """Input files per task."""
    plugin: str = "Standard"
    """TS plugin."""
    description: str = ""
    """Transformation description."""
    job: JobDescription = Field(default_factory=JobDescription)
    """Job description."""
    source: KeyPath = Field(default=(), exclude=True)
    """Key path of the step in the source document (for error messages)."""

    def json_dict(self) -> dict[str, Any]:
        """The step in the ``--json`` shape."""
        return {
            "name": self.name,
            "type": self.type,
            "parents": list(self.parents),
            "input_query": dict(self.input_query or {}),
            "output_query": dict(self.output_query),
            "group_size": self.group_size,
            "plugin": self.plugin,
        }


class PlannedProduction(_Frozen):
    """One production: steps submitted and started together."""

    name: str
    """Production name."""
    description: str = ""
    """Free text."""
    after: list[str] = Field(default_factory=list)
    """Productions that must exist before this one (explicit ``after`` and cross-production parents)."""
    steps: list[PlannedStep]
    """Steps, parents before children."""


class Plan(_Frozen):
    """Everything a production file asks for, checked, in submission order."""

    format: Literal["native", "legacy"]
    """Format of the source file."""
    source: str | None = None
    """File the plan was read from."""
    productions: list[PlannedProduction]
    """Productions, each after the productions it depends on."""
    base_path: str | None = None
    """Catalog directory under which the output directories are made (legacy ``Common.base_path``)."""

    @property
    def steps(self) -> list[PlannedStep]:
        """All steps of all productions, in order."""
        return [step for production in self.productions for step in production.steps]

    def step(self, name: str) -> PlannedStep:
        """The step called ``name``."""
        for candidate in self.steps:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def unresolved_datasets(self) -> list[str]:
        """Datasets whose stored query still has to be read from the catalog."""
        return sorted({s.dataset for s in self.steps if s.dataset and not s.dataset_resolved})

    def to_json_dict(self) -> dict[str, Any]:
        """The plan in the shape other tools read (``--json``)."""
        return {
            "productions": [
                {"name": production.name, "steps": [step.json_dict() for step in production.steps]}
                for production in self.productions
            ]
        }
