"""The legacy CTADIRAC production YAML (``ProdSteps`` / ``Common``), read unchanged into a :class:`~.plan.Plan`.

The query rules are those of ``docs/production-yaml.md`` ("Legacy format"), i.e. the predecessor's, without
its bugs: a child's input query is a *copy* of its parent's output query (edits never leak back), step IDs
are any distinct positive integers, job keys such as ``tag`` or ``cpu_time`` never reach the metadata,
Merging without ``group_size`` uses 1, ``parentID`` together with ``dataset`` is an error, an unknown
``moon`` or ``pointing_dir`` is a located error, and every query is encoded so that zero values survive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .builder import DatasetResolver
from .errors import Issue, KeyPath, SpecLinkError, SpecValidationError
from .graph import find_cycle, topological_order
from .metaquery import (
    LINK_OPERATORS,
    MetaQuery,
    check_link,
    condition,
    condition_values,
    normalize_query,
    stored_length_problems,
)
from .models import DEFAULT_SIMULATION_OUTPUTS, NAME_PATTERN, TS_PLUGINS
from .plan import JobDescription, Plan, PlannedProduction, PlannedStep
from .validation import issues_from_validation_error

__all__ = ["DATA_LEVELS", "LEGACY_TYPES", "build_legacy_plan"]

#: Data-level names and their catalog numbers.
DATA_LEVELS = {"MC0": -3, "R0": -2, "R1": -1, "DL0": 0, "DL1": 1, "DL2": 2, "DL3": 3}
#: pointing_dir -> phiP.
POINTINGS = {"North": 180, "South": 0}
#: moon -> nsb.
MOONS = {"dark": 1, "half": 5, "full": 19}


class LegacyType:
    """What a legacy ``job_config.type`` becomes."""

    def __init__(
        self, name: str, dirac_type: str, kind: str, program: str, category: str, data_level: int | None
    ) -> None:
        self.name = name
        self.dirac_type = dirac_type
        self.kind = kind
        self.program = program
        self.category = category
        self.data_level = data_level
        """Output data level when ``job_config`` gives none (``None``: the input's)."""

    @property
    def simulation(self) -> bool:
        return self.dirac_type == "MCSimulation"


#: Files the jobs of the legacy simulation types collect (the format has no way to say it): by program.
_LEGACY_OUTPUTS = {**DEFAULT_SIMULATION_OUTPUTS, "simpipe": DEFAULT_SIMULATION_OUTPUTS["sim_telarray"]}

_TYPES = [
    LegacyType("MCSimulation", "MCSimulation", "mc-simulation", "sim_telarray", "tel_sim", -1),
    LegacyType("SimPipe", "MCSimulation", "mc-simulation", "simpipe", "tel_sim", -1),
    LegacyType("SimTelProcessing", "DataReprocessing", "executable", "sim_telarray", "tel_sim", None),
    LegacyType("CtapipeProcessing", "DataReprocessing", "ctapipe-process", "ctapipe-process", "analysis", 2),
    LegacyType("EvnDispProcessing", "DataReprocessing", "executable", "evndisp", "analysis", 1),
    LegacyType("Merging", "Merging", "ctapipe-merge", "ctapipe-merge", "analysis", None),
    LegacyType(
        "CtapipeTrainEnergy", "Training", "ctapipe-train-energy", "ctapipe-train-energy-regressor", "analysis", None
    ),
    LegacyType(
        "CtapipeTrainClassifier",
        "Training",
        "ctapipe-train-classifier",
        "ctapipe-train-particle-classifier",
        "analysis",
        None,
    ),
    LegacyType("CtapipeApplyModels", "ApplyModel", "ctapipe-apply-models", "ctapipe-apply-models", "analysis", 2),
]
#: Legacy step types by lower-case name.
LEGACY_TYPES = {legacy_type.name.lower(): legacy_type for legacy_type in _TYPES}

#: Output-query keys kept for processing steps (besides ``<category>_prog`` and ``<category>_prog_version``).
KNOWN_OUTPUT_KEYS = (
    "array_layout",
    "site",
    "particle",
    "phiP",
    "thetaP",
    "sct",
    "data_level",
    "outputType",
    "configuration_id",
    "MCCampaign",
    "view_cone",
    "systematics",
)
#: File-level metadata copied to the output query; ``split`` only for the types in SPLIT_TYPES.
FILE_LEVEL_KEYS = ("nsb", "div_ang")
SPLIT_TYPES = ("CtapipeProcessing", "Merging", "CtapipeApplyModels")

#: Settings (job_config or Common) read as metadata; every other job_config key is passed to the job.
METADATA_SOURCE_KEYS = KNOWN_OUTPUT_KEYS + FILE_LEVEL_KEYS + ("split", "pointing_dir", "zenith_angle", "moon")

PositiveInt = Annotated[int, Field(ge=1, strict=True)]


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class LegacyJobConfig(BaseModel):
    """``job_config`` of a legacy step. Keys other than these are kept and passed to the job."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    type: str
    """Step type, case-insensitive (see LEGACY_TYPES)."""
    version: str | None = None
    """Software version."""
    group_size: PositiveInt | None = None
    """Input files per job (default 1)."""
    plugin: Literal[TS_PLUGINS] | None = None  # type: ignore[valid-type]
    """TS plugin (default Standard)."""
    cpu_time: PositiveInt | None = None
    """CPU time per job (seconds)."""
    tag: str | list[str] | None = None
    """Job tag(s)."""
    only_corsika: bool = False
    """MCSimulation: run CORSIKA only."""
    data_level: int | str | None = None
    """Output data level (number or MC0, R0, R1, DL0..DL3)."""

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        found = LEGACY_TYPES.get(value.lower())
        if found is None:
            raise ValueError(
                f"unknown step type '{value}'; allowed (case-insensitive): {', '.join(t.name for t in _TYPES)}"
            )
        return found.name

    @field_validator("data_level")
    @classmethod
    def _level(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and value not in DATA_LEVELS:
            raise ValueError(f"unknown data level '{value}'; allowed: {', '.join(DATA_LEVELS)} or a number")
        return value


class LegacyStep(_Legacy):
    """One entry of ``ProdSteps``."""

    ID: PositiveInt
    """Positive, unique step number."""
    name: Annotated[str, Field(pattern=NAME_PATTERN)] | None = None
    """Step name (default ``<type>_<ID>``)."""
    input_meta_query: dict[str, Any] | None = None
    """parentID or dataset, plus metadata refinements."""
    job_config: LegacyJobConfig
    """The job settings."""


class LegacyCommon(_Legacy):
    """``Common``: applies to every step."""

    MCCampaign: str | None = None
    """Campaign name (metadata)."""
    configuration_id: int | None = None
    """Configuration ID (metadata)."""
    base_path: str | None = None
    """Root of the output directories in the file catalog."""


class LegacyFile(_Legacy):
    """A legacy CTADIRAC production file."""

    ProdSteps: list[LegacyStep] = Field(min_length=1)
    """The steps."""
    Common: LegacyCommon = Field(default_factory=LegacyCommon)
    """Settings for every step."""


def _err(path: KeyPath, message: str) -> SpecLinkError:
    return SpecLinkError([Issue(message=message, path=path)])


def _number(value: Any, path: KeyPath, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _err(path, f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise _err(path, f"{what} must be a number, got {value!r}") from None


def _each(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def translate(key: str, value: Any, path: KeyPath) -> tuple[str, Any]:
    """One legacy metadata key and value -> catalog key and value (see the module docstring)."""
    if key == "pointing_dir":
        out = []
        for item in _each(value):
            match = next((name for name in POINTINGS if str(item).lower() == name.lower()), None)
            if match is None:
                raise _err(path, f"unknown pointing_dir {item!r}; allowed: {', '.join(POINTINGS)}")
            out.append(POINTINGS[match])
        return "phiP", _one_or_list(out)
    if key == "zenith_angle":
        return "thetaP", _one_or_list([_number(item, path, "zenith_angle") for item in _each(value)])
    if key == "moon":
        out = []
        for item in _each(value):
            if item not in MOONS:
                raise _err(path, f"unknown moon {item!r}; allowed: {', '.join(MOONS)}")
            out.append(MOONS[item])
        return "nsb", _one_or_list(out)
    if key in ("sct", "div_ang"):
        return key, _one_or_list([str(item) for item in _each(value)])
    if isinstance(value, Mapping):
        return key, dict(value)
    for item in _each(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _err(path, f"metadata '{key}' must be a string or a number (or a list of them), got {item!r}")
    return key, value


def _level_number(value: int | str) -> int:
    return DATA_LEVELS[value] if isinstance(value, str) else value


def build_legacy_plan(
    data: Mapping[str, Any],
    *,
    source: str | None = None,
    production_name: str = "legacy",
    dataset_resolver: DatasetResolver | None = None,
) -> Plan:
    """Validate a legacy document (plain data) and turn it into a one-production plan."""
    try:
        legacy = LegacyFile.model_validate(data)
    except ValidationError as exc:
        raise SpecValidationError(issues_from_validation_error(exc, data, LegacyFile)) from None
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", production_name).lstrip("_.+-") or "legacy"

    by_id: dict[int, tuple[int, LegacyStep]] = {}
    names: dict[str, int] = {}
    for index, step in enumerate(legacy.ProdSteps):
        if step.ID in by_id:
            raise _err(("ProdSteps", index, "ID"), f"duplicate step ID {step.ID} (also ProdSteps[{by_id[step.ID][0]}])")
        by_id[step.ID] = (index, step)
    for index, step in enumerate(legacy.ProdSteps):
        step_name = _name(step)
        if step_name in names:
            raise _err(
                ("ProdSteps", index, "name"), f"duplicate step name '{step_name}' (also ProdSteps[{names[step_name]}])"
            )
        names[step_name] = index

    parent_of: dict[int, int] = {}
    for index, step in enumerate(legacy.ProdSteps):
        query = step.input_meta_query or {}
        legacy_type = LEGACY_TYPES[step.job_config.type.lower()]
        path: KeyPath = ("ProdSteps", index, "input_meta_query")
        if legacy_type.simulation:
            for key, value in query.items():
                if value is not None:
                    raise _err(path + (key,), f"a {legacy_type.name} step has no input; remove '{key}'")
            continue
        parent = query.get("parentID")
        if parent is not None and query.get("dataset") is not None:
            raise _err(path + ("dataset",), "give either parentID or dataset, not both")
        if parent is not None:
            if isinstance(parent, bool) or not isinstance(parent, int) or parent not in by_id:
                known = ", ".join(str(i) for i in sorted(by_id))
                raise _err(path + ("parentID",), f"no step with ID {parent!r}; IDs: {known}")
            if parent == step.ID:
                raise _err(path + ("parentID",), f"step {step.ID} cannot be its own parent")
            parent_of[step.ID] = parent
        dataset = query.get("dataset")
        if dataset is not None and not isinstance(dataset, str):
            raise _err(path + ("dataset",), f"dataset must be a dataset name (a string), got {dataset!r}")

    ids = sorted(by_id)
    edges = {step_id: [parent_of[step_id]] if step_id in parent_of else [] for step_id in ids}
    cycle = find_cycle(ids, edges)
    if cycle:
        raise _err(
            ("ProdSteps", by_id[cycle[0]][0], "input_meta_query", "parentID"),
            f"cyclic parentID: {' -> '.join(str(i) for i in cycle)}",
        )
    order = topological_order(ids, edges)
    planned: dict[int, PlannedStep] = {}
    for step_id in order:
        index, step = by_id[step_id]
        parent = planned[parent_of[step_id]] if step_id in parent_of else None
        planned[step_id] = _plan_step(step, index, parent, legacy.Common, name, dataset_resolver)
    return Plan(
        format="legacy",
        source=source,
        productions=[PlannedProduction(name=name, steps=[planned[step_id] for step_id in order])],
        base_path=legacy.Common.base_path,
    )


def _name(step: LegacyStep) -> str:
    return step.name or f"{step.job_config.type}_{step.ID}"


def _plan_step(
    step: LegacyStep,
    index: int,
    parent: PlannedStep | None,
    common: LegacyCommon,
    production: str,
    dataset_resolver: DatasetResolver | None,
) -> PlannedStep:
    path: KeyPath = ("ProdSteps", index)
    config = step.job_config
    legacy_type = LEGACY_TYPES[config.type.lower()]
    query = step.input_meta_query or {}
    settings: dict[str, Any] = {key: value for key, value in common.model_dump().items() if value is not None}
    settings.pop("base_path", None)
    settings.update(config.model_dump(exclude_none=True))

    # ------------------------------------------------------------------ input query
    dataset = query.get("dataset")
    resolved = True
    input_query: MetaQuery | None = None
    if not legacy_type.simulation:
        if parent is not None:
            input_query = {key: dict(cond) for key, cond in parent.output_query.items()}  # a copy, never an alias
        elif dataset is not None:
            if dataset_resolver is None:
                input_query, resolved = {}, False
            else:
                input_query = normalize_query(dataset_resolver(dataset))
        else:
            input_query = {}
        for key, value in query.items():
            if key in ("parentID", "dataset") or value is None:
                continue
            new_key, new_value = translate(key, value, path + ("input_meta_query", key))
            input_query[new_key] = condition(new_value)
        if parent is not None:
            problems = check_link(input_query, parent.output_query)
            if problems:
                raise _err(
                    path + ("input_meta_query", "parentID"),
                    f"step {step.ID} cannot read the output of '{parent.name}' by DIRAC's link rules: "
                    + "; ".join(problems),
                )
        if not input_query and resolved:
            raise _err(
                path + ("input_meta_query",),
                "the input query is empty: it would take every file of the catalog"
                " (give parentID, dataset or metadata)",
            )

    # ------------------------------------------------------------------ output query
    metadata: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in METADATA_SOURCE_KEYS or value is None:
            continue
        new_key, new_value = translate(key, value, path + ("job_config", key))
        metadata[new_key] = new_value
    output: MetaQuery = {}
    prog_keys = (f"{legacy_type.category}_prog", f"{legacy_type.category}_prog_version")
    if legacy_type.simulation:
        program = "corsika" if config.only_corsika else legacy_type.program
        category = "airshower_sim" if config.only_corsika else legacy_type.category
        prog_keys = (f"{category}_prog", f"{category}_prog_version")
        for key in ("array_layout", "site", "particle", "thetaP", "configuration_id", "MCCampaign"):
            if key in metadata:
                output[key] = condition(metadata[key])
        output["phiP"] = condition(metadata.get("phiP", 0))
        output["sct"] = condition(metadata.get("sct", "False"))
        output["outputType"] = condition("Data")
        output[prog_keys[0]] = condition(program)
        if config.version:
            output[prog_keys[1]] = condition(config.version)
        output["data_level"] = condition(_level_number(config.data_level) if config.data_level is not None else -1)
    else:
        program = legacy_type.program
        for key, cond in (input_query or {}).items():
            if key in KNOWN_OUTPUT_KEYS and next(iter(cond)) in LINK_OPERATORS:
                output[key] = dict(cond)
        for key, value in metadata.items():
            if key in KNOWN_OUTPUT_KEYS:
                output[key] = condition(value)
        output[prog_keys[0]] = condition(program)
        if config.version:
            output[prog_keys[1]] = condition(config.version)
        output["outputType"] = condition("Model" if legacy_type.dirac_type == "Training" else "Data")
        output.setdefault("sct", condition("False"))
        if config.data_level is not None:
            output["data_level"] = condition(_level_number(config.data_level))
        elif legacy_type.data_level is not None:
            output["data_level"] = condition(legacy_type.data_level)
        if legacy_type.name == "Merging":
            cond = (input_query or {}).get("merged")
            values = condition_values(cond) if cond is not None else [0]
            if values is None or len(values) != 1 or not isinstance(values[0], int):
                raise _err(path + ("input_meta_query",), f"cannot derive the merge level from merged = {cond}")
            output["merged"] = condition(values[0] + 1)
    file_keys = FILE_LEVEL_KEYS + (("split",) if legacy_type.name in SPLIT_TYPES else ())
    for key in file_keys:
        if key in metadata:
            output[key] = condition(metadata[key])
        elif input_query and key in input_query and next(iter(input_query[key])) in LINK_OPERATORS:
            output[key] = dict(input_query[key])
    for query_, where in ((input_query or {}, "input_meta_query"), (output, "job_config")):
        problems = stored_length_problems(query_)
        if problems:
            raise _err(path + (where,), "; ".join(problems))

    extra = {key: value for key, value in (config.model_extra or {}).items() if key not in METADATA_SOURCE_KEYS}
    tags = config.tag if isinstance(config.tag, list) else ([config.tag] if config.tag else [])
    showers = (config.model_extra or {}).get("n_shower")
    job = JobDescription(
        program=program,
        version=config.version,
        cpu_time=config.cpu_time,
        tags=tags,
        showers=showers if isinstance(showers, int) and not isinstance(showers, bool) else None,
        outputs=list(_LEGACY_OUTPUTS.get(program, ())),
        extra=extra,
    )
    return PlannedStep(
        name=_name(step),
        kind=legacy_type.kind,
        type=legacy_type.dirac_type,
        production=production,
        parents=[parent.name] if parent else [],
        data_parents=[parent.name] if parent else [],
        dataset=dataset,
        dataset_resolved=resolved,
        input_query=input_query,
        output_query=output,
        group_size=config.group_size or 1,
        plugin=config.plugin or "Standard",
        description=f"{legacy_type.name} step {step.ID}",
        job=job,
        source=path,
    )
