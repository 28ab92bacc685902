"""The legacy CTADIRAC production YAML (``ProdSteps`` / ``Common``), read unchanged and translated into the native
format (:func:`legacy_to_native`), which the native builder plans like any other file (:func:`build_legacy_plan`).

The translation writes out, per step, the output metadata CTADIRAC's rules derive (``inherit: []`` and every
value in ``output``); the builder then makes the same queries (checked for every step at every build).

The query rules are those of ``docs/production-yaml.md`` ("Legacy format"), i.e. the predecessor's, without
its bugs: a child's input query is a *copy* of its parent's output query (edits never leak back), step IDs
are any distinct positive integers, job keys such as ``tag`` or ``cpu_time`` never reach the metadata,
Merging without ``group_size`` uses 1, ``parentID`` together with ``dataset`` is an error, an unknown
``moon`` or ``pointing_dir`` is a located error, and every query is encoded so that zero values survive.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .builder import DatasetResolver, build_plan
from .errors import Issue, KeyPath, ProductionSpecError, SpecLinkError
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
from .models import DEFAULT_SIMULATION_OUTPUTS, NAME_PATTERN, TS_PLUGINS, ProductionFile
from .plan import Plan
from .validation import validated

__all__ = ["DATA_LEVELS", "LEGACY_TYPES", "LegacyTranslation", "build_legacy_plan", "legacy_to_native"]

#: Data-level names and their catalog numbers.
DATA_LEVELS = {"MC0": -3, "R0": -2, "R1": -1, "DL0": 0, "DL1": 1, "DL2": 2, "DL3": 3}
#: pointing_dir -> phiP.
POINTINGS = {"North": 180, "South": 0}
#: moon -> nsb.
MOONS = {"dark": 1, "half": 5, "full": 19}
#: The moon settings a simulation can run (sim_telarray simulates cumulatively: dark, then half, then full moon).
SIMULATION_MOONS = (["dark"], ["dark", "half"], ["dark", "half", "full"])
#: The primary particles CORSIKA knows (CTADIRAC's MCPipeJob.set_particle).
PARTICLES = ("gamma", "gamma-diffuse", "electron", "proton", "helium", "muon")
#: The sites.
SITES = ("Paranal", "LaPalma")
#: The divergent-pointing angle sets a simulation can run (CTADIRAC's MCPipeJob.set_div_ang).
SIMULATION_DIV_ANGS = (["0.0022", "0.0043", "0.008", "0.01135", "0.01453"], ["0.0121", "0.046"])
#: sct settings of a simulation (sim_telarray's SCT options); the output records sct "True".
SIMULATION_SCTS = ("all", "non-alpha")
#: Defaults of a simulation step's output metadata when job_config does not give them (CTADIRAC's MCPipeJob).
SIMULATION_DEFAULTS = {"array_layout": "Prod6-Hyperarray", "thetaP": 20.0}
#: Keys a simulation step must give (CTADIRAC crashes or refuses without them).
SIMULATION_REQUIRED = ("version", "site", "particle", "pointing_dir", "moon", "n_shower")
#: Keys a processing step's output needs (from its input query or job_config; CTADIRAC crashes without them).
PROCESSING_REQUIRED = ("array_layout", "site", "phiP", "thetaP")
#: Keys that take one value in input_meta_query and in a processing step's job_config.
ONE_VALUE_KEYS = ("pointing_dir", "zenith_angle", "moon", "sct", "div_ang")


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
        """Output data level when neither ``job_config`` nor the input query gives one."""

    @property
    def simulation(self) -> bool:
        return self.dirac_type == "MCSimulation"


#: Files the jobs of the legacy simulation and executable types collect (the format has no way to say it), by
#: program (EvnDisp: CTADIRAC's EvnDispJob uploads its ``Data/*.simtel.DL1.tar.gz``).
_LEGACY_OUTPUTS = {**DEFAULT_SIMULATION_OUTPUTS, "evndisp": ("*.simtel.DL1.tar.gz",)}

_TYPES = [
    LegacyType("MCSimulation", "MCSimulation", "mc-simulation", "sim_telarray", "tel_sim", -1),
    LegacyType("SimPipe", "MCSimulation", "mc-simulation", "simpipe", "tel_sim", -1),
    LegacyType("SimTelProcessing", "DataReprocessing", "executable", "sim_telarray", "tel_sim", -1),
    LegacyType("CtapipeProcessing", "DataReprocessing", "ctapipe-process", "ctapipe-process", "analysis", 2),
    LegacyType("EvnDispProcessing", "DataReprocessing", "executable", "evndisp", "analysis", 1),
    LegacyType("Merging", "Merging", "ctapipe-merge", "ctapipe-merge", "analysis", 2),
    LegacyType(
        "CtapipeTrainEnergy", "Training", "ctapipe-train-energy", "ctapipe-train-energy-regressor", "analysis", 2
    ),
    LegacyType(
        "CtapipeTrainClassifier",
        "Training",
        "ctapipe-train-classifier",
        "ctapipe-train-particle-classifier",
        "analysis",
        2,
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

#: Settings (job_config or Common) read as metadata; every other job_config key is kept in the plan only.
METADATA_SOURCE_KEYS = KNOWN_OUTPUT_KEYS + FILE_LEVEL_KEYS + ("split", "pointing_dir", "zenith_angle", "moon")

PositiveInt = Annotated[int, Field(ge=1, strict=True)]


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class LegacyJobConfig(BaseModel):
    """``job_config`` of a legacy step. Keys other than these are accepted and kept in the plan (no DIRAC call
    uses them)."""

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

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # YAML reads 2024 as a number and 2020-06-28 as a date: their text is the version (CTADIRAC: str(value))
        if isinstance(value, bool):
            return value
        if isinstance(value, int) or isinstance(value, datetime.date):
            return value.isoformat() if isinstance(value, datetime.date) else str(value)
        if isinstance(value, float):
            raise ValueError(f"YAML reads this version as the number {value!r}: write it in quotes")
        return value

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

    MCCampaign: str
    """Campaign name (metadata)."""
    configuration_id: int
    """Configuration ID (metadata)."""
    base_path: str | None = None
    """Root of the output directories in the file catalog."""

    @field_validator("MCCampaign", mode="before")
    @classmethod
    def _campaign_text(cls, value: Any) -> Any:
        # YAML reads MCCampaign: 2024 as a number; the catalog field is text
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class LegacyFile(_Legacy):
    """A legacy CTADIRAC production file."""

    ProdSteps: list[LegacyStep] = Field(min_length=1)
    """The steps."""
    Common: LegacyCommon
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
    if key in ONE_VALUE_KEYS and isinstance(value, list):
        # CTADIRAC reads these as one value: a list crashes it (moon: unhashable, zenith_angle: float()) or is
        # silently dropped (pointing_dir)
        raise _err(path, f"{key} is one value here, got a list")
    if key == "pointing_dir":
        out = []
        for item in _each(value):
            if item not in POINTINGS:
                raise _err(path, f"unknown pointing_dir {item!r}; allowed: {', '.join(POINTINGS)}")
            out.append(POINTINGS[item])
        return "phiP", _one_or_list(out)
    if key in ("particle", "site"):
        allowed = PARTICLES if key == "particle" else SITES
        for item in _each(value):
            if item not in allowed:
                raise _err(path, f"unknown {key} {item!r}; allowed: {', '.join(allowed)}")
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
        return key, str(value)
    if isinstance(value, Mapping):
        return key, dict(value)
    for item in _each(value):
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _err(path, f"metadata '{key}' must be a string or a number (or a list of them), got {item!r}")
    return key, value


def _comma_list(value: Any) -> list[str]:
    """A list, or a comma-separated string (CTADIRAC splits ``"dark, half"``), as a list of stripped strings."""
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items]


def _simulation_metadata(config: LegacyJobConfig, path: KeyPath) -> dict[str, Any]:
    """The metadata a simulation's job_config sets (CTADIRAC's MCPipeJob rules), checked."""
    extra = config.model_extra or {}
    given = {**extra, **config.model_dump(exclude_none=True)}
    for key in SIMULATION_REQUIRED:
        if given.get(key) is None:
            raise _err(path + (key,), f"a {config.type} step needs '{key}'")
    metadata: dict[str, Any] = {}
    for key in ("array_layout", "site", "particle", "pointing_dir", "zenith_angle"):
        if given.get(key) is not None:
            new_key, new_value = translate(key, given[key], path + (key,))
            if isinstance(new_value, list):
                raise _err(path + (key,), f"a simulation runs one {key}, got a list")
            metadata[new_key] = new_value
    moons = _comma_list(given["moon"])
    if moons not in SIMULATION_MOONS:
        allowed = "; ".join(", ".join(m) for m in SIMULATION_MOONS)
        raise _err(path + ("moon",), f"a simulation runs the moon settings {allowed}; got {', '.join(moons)}")
    metadata["nsb"] = [MOONS[moon] for moon in moons]
    if given.get("div_ang") is not None:
        angles = _comma_list(given["div_ang"])
        if angles not in SIMULATION_DIV_ANGS:
            allowed = " or ".join(", ".join(a) for a in SIMULATION_DIV_ANGS)
            raise _err(path + ("div_ang",), f"a simulation runs the div_ang sets {allowed}; got {', '.join(angles)}")
        metadata["div_ang"] = angles
    sct = given.get("sct")
    if sct is not None:
        if not isinstance(sct, str) or sct.lower() not in SIMULATION_SCTS:
            raise _err(path + ("sct",), f"unknown sct {sct!r}; allowed: {', '.join(SIMULATION_SCTS)}")
        metadata["sct"] = "True"
    return metadata


def input_query_keys(query: MetaQuery | None) -> set[str]:
    """Keys of an input query that a step's output copies (single or several values, not comparisons)."""
    return {key for key, cond in (query or {}).items() if next(iter(cond)) in LINK_OPERATORS}


def _level_number(value: int | str) -> int:
    return DATA_LEVELS[value] if isinstance(value, str) else value


@dataclass
class _Translated:
    step: dict[str, Any]
    """The native step (plain data)."""
    name: str
    path: KeyPath
    """Where the legacy step is (``("ProdSteps", index)``)."""
    output_query: MetaQuery
    """Its output query by CTADIRAC's rules (what the native builder must make of ``step``)."""
    input: tuple[str, dict[str, Any]] | None
    """The top-level native input it reads (name, plain data), if any."""
    where_keys: dict[str, str]
    """Native ``where`` key -> the legacy ``input_meta_query`` key it translates."""
    extra: dict[str, Any]
    """Other ``job_config`` keys (kept in the plan, used by no DIRAC call; the native format has no place for them)."""


@dataclass
class LegacyTranslation:
    """A legacy file as a native production file (plain data), and what maps one onto the other."""

    native: dict[str, Any]
    """The native production file (plain data, ready for YAML or :class:`~.models.ProductionFile`)."""
    steps: list[_Translated]
    """The translated steps, in the order of the native file."""
    unresolved: list[str]
    """Datasets that were not read (offline): their steps inherit the metadata CTADIRAC copies from an input."""

    @property
    def dropped(self) -> dict[str, dict[str, Any]]:
        """Per step, the ``job_config`` keys with no native equivalent (they reach no DIRAC call either)."""
        return {t.name: t.extra for t in self.steps if t.extra}

    def legacy_path(self, path: KeyPath) -> KeyPath:
        """The legacy key path of a native key path (for errors found by the native schema or builder)."""
        if len(path) >= 4 and path[0] == "productions" and path[2] == "steps" and isinstance(path[3], int):
            if path[3] < len(self.steps):
                return _legacy_field(self.steps[path[3]], path[4:])
        if len(path) >= 2 and path[0] == "inputs":
            for t in self.steps:
                if t.input is not None and t.input[0] == path[1]:
                    rest = path[2:]
                    if rest[:1] == ("dataset",):
                        return t.path + ("input_meta_query", "dataset")
                    if rest[:1] == ("query",) and len(rest) > 1:
                        return t.path + ("input_meta_query", t.where_keys.get(str(rest[1]), rest[1]))
                    return t.path + ("input_meta_query",)
        return ()


#: Native step fields -> the legacy keys they come from.
_LEGACY_FIELDS: dict[str, KeyPath] = {
    "parents": ("input_meta_query", "parentID"),
    "input": ("input_meta_query",),
    "version": ("job_config", "version"),
    "group_size": ("job_config", "group_size"),
    "plugin": ("job_config", "plugin"),
    "cpu_time": ("job_config", "cpu_time"),
    "tags": ("job_config", "tag"),
    "showers": ("job_config", "n_shower"),
    "output": ("job_config",),
    "inherit": ("input_meta_query",),
}


def _legacy_field(t: _Translated, rest: KeyPath) -> KeyPath:
    if not rest:
        return t.path
    field = str(rest[0])
    if field == "where":
        return t.path + ("input_meta_query",) + ((t.where_keys.get(str(rest[1]), rest[1]),) if len(rest) > 1 else ())
    return t.path + _LEGACY_FIELDS.get(field, ())


def legacy_to_native(
    data: Mapping[str, Any],
    *,
    production_name: str = "legacy",
    dataset_resolver: DatasetResolver | None = None,
) -> LegacyTranslation:
    """Validate a legacy document (plain data) and translate it into a native production file, by CTADIRAC's
    rules (see the module docstring). Errors carry legacy key paths."""
    legacy = validated(LegacyFile, data)
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
    translated: dict[int, _Translated] = {}
    for step_id in topological_order(ids, edges):
        index, step = by_id[step_id]
        parent = translated[parent_of[step_id]] if step_id in parent_of else None
        translated[step_id] = _translate_step(step, index, parent, legacy.Common, dataset_resolver)
    steps = list(translated.values())
    native: dict[str, Any] = {"format": 1}
    if legacy.Common.base_path is not None:
        native["base_path"] = legacy.Common.base_path
    inputs = {t.input[0]: t.input[1] for t in steps if t.input is not None}
    if inputs:
        native["inputs"] = inputs
    native["productions"] = [{"name": name, "steps": [t.step for t in steps]}]
    unresolved = sorted({t.input[1]["dataset"] for t in steps if t.input and "dataset" in t.input[1]}
                        if dataset_resolver is None else set())  # fmt: skip
    return LegacyTranslation(native=native, steps=steps, unresolved=unresolved)


def build_legacy_plan(
    data: Mapping[str, Any],
    *,
    source: str | None = None,
    production_name: str = "legacy",
    dataset_resolver: DatasetResolver | None = None,
) -> Plan:
    """A legacy document (plain data) as a one-production plan: translated into the native format
    (:func:`legacy_to_native`), then planned by the native builder, as every format is."""
    translation = legacy_to_native(data, production_name=production_name, dataset_resolver=dataset_resolver)
    try:
        spec = validated(ProductionFile, translation.native)
        plan = build_plan(spec, source=source, dataset_resolver=dataset_resolver)
    except ProductionSpecError as exc:
        raise exc.with_issues(
            [dc_replace(issue, path=translation.legacy_path(issue.path)) for issue in exc.issues]
        ) from None
    by_name = {t.name: t for t in translation.steps}
    productions = []
    for production in plan.productions:
        steps = []
        for planned in production.steps:
            t = by_name[planned.name]
            if planned.output_query != t.output_query:  # the translation must say what CTADIRAC's rules say
                raise RuntimeError(f"internal error: the native translation of step {planned.name} plans the output"
                                   f" query {planned.output_query}, CTADIRAC's rules {t.output_query}")
            job = planned.job.model_copy(update={"extra": t.extra})
            steps.append(planned.model_copy(update={"source": t.path, "input": None, "job": job}))
        productions.append(production.model_copy(update={"steps": steps}))
    return plan.model_copy(update={"format": "legacy", "productions": productions})


def _name(step: LegacyStep) -> str:
    return step.name or f"{step.job_config.type}_{step.ID}"


def _extra(config: LegacyJobConfig) -> dict[str, Any]:
    """The ``job_config`` keys that are neither metadata nor a native setting (a simulation's ``n_shower`` is
    its ``showers``)."""
    carried = METADATA_SOURCE_KEYS + (("n_shower",) if LEGACY_TYPES[config.type.lower()].simulation else ())
    return {key: value for key, value in (config.model_extra or {}).items() if key not in carried}


#: Output keys CTADIRAC copies from a processing step's input (inherited when the input is not known offline).
_COPIED_KEYS = ("array_layout", "site", "particle", "phiP", "thetaP", "sct", "data_level", "view_cone",
                "systematics") + FILE_LEVEL_KEYS  # fmt: skip


def _native_value(cond: Mapping[str, Any]) -> Any:
    """A query condition as a native output value (``None``: it has no native value)."""
    ((operator, operand),) = cond.items()
    if operator == "=" and not isinstance(operand, list):
        return operand
    if operator == "in":
        return list(operand)
    return None


def _native_step(
    step: LegacyStep,
    legacy_type: LegacyType,
    query: Mapping[str, Any],
    input_query: MetaQuery | None,
    output: MetaQuery,
    parent: _Translated | None,
    dataset: str | None,
    resolved: bool,
    path: KeyPath,
) -> tuple[dict[str, Any], tuple[str, dict[str, Any]] | None, dict[str, str]]:
    """The native step (plain data) whose plan has ``output`` as output query, its top-level input, and its
    ``where`` keys' legacy names."""
    config = step.job_config
    name = _name(step)
    native: dict[str, Any] = {"name": name, "description": f"{legacy_type.name} step {step.ID}"}
    if legacy_type.simulation:
        native["kind"] = "mc-simulation"
        native["program"] = "corsika" if config.only_corsika else legacy_type.program
        showers = (config.model_extra or {}).get("n_shower")
        if isinstance(showers, int) and not isinstance(showers, bool) and showers > 0:
            native["showers"] = showers
    elif legacy_type.kind == "executable":  # CTADIRAC's sim_telarray and EvnDisp processing
        native.update(kind="executable", executable=legacy_type.program, transformation_type=legacy_type.dirac_type,
                      program_category=legacy_type.category)  # fmt: skip
        outputs = list(_LEGACY_OUTPUTS.get(legacy_type.program, ()))
        if outputs:
            native["outputs"] = outputs
    else:
        native["kind"] = legacy_type.kind
    native["version"] = config.version
    for field, value in (("group_size", config.group_size), ("plugin", config.plugin), ("cpu_time", config.cpu_time)):
        if value is not None:
            native[field] = value
    tags = config.tag if isinstance(config.tag, list) else ([config.tag] if config.tag else [])
    if tags:
        native["tags"] = tags

    where: dict[str, Any] = {}
    where_keys: dict[str, str] = {}
    for key, value in query.items():
        if key in ("parentID", "dataset") or value is None:
            continue
        new_key, new_value = translate(key, value, path + ("input_meta_query", key))
        cond = condition(new_value)
        plain = _native_value(cond)
        where[new_key] = cond if plain is None else plain
        where_keys[new_key] = key
    native_input: tuple[str, dict[str, Any]] | None = None
    if not legacy_type.simulation:
        if parent is not None:
            native["parents"] = [parent.name]
        else:
            input_name = f"{name}-input"
            native_input = (input_name, {"dataset": dataset} if dataset is not None else {"query": where})
            native["input"] = input_name
            if dataset is None:
                where = {}
        if where:
            native["where"] = where

    # the output query, said explicitly: nothing inherited but what has no native value (or is not known yet)
    values: dict[str, Any] = {}
    inherit: list[str] = []
    for key, cond in output.items():
        value = _native_value(cond)
        if value is not None:
            values[key] = value
        elif input_query is not None and input_query.get(key) == cond:
            inherit.append(key)
        else:
            raise _err(path + ("job_config",), f"the output metadata {key} = {cond} cannot be recorded")
    if not resolved:
        inherit += [key for key in _COPIED_KEYS if key not in values]
    if legacy_type.kind == "ctapipe-process" and "merged" not in output:
        values["merged"] = None  # the native ctapipe-process records merged 0; CTADIRAC does not
    if not legacy_type.simulation:
        native["inherit"] = inherit
    native["output"] = values
    return native, native_input, where_keys


def _translate_step(
    step: LegacyStep,
    index: int,
    parent: _Translated | None,
    common: LegacyCommon,
    dataset_resolver: DatasetResolver | None,
) -> _Translated:
    """CTADIRAC's rules for one step: its input and output queries, checked, and the native step saying them."""
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
                try:
                    input_query = normalize_query(dataset_resolver(dataset))
                except LookupError as exc:
                    raise _err(path + ("input_meta_query", "dataset"), str(exc)) from None
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
    if not config.version:
        raise _err(path + ("job_config", "version"), f"a {legacy_type.name} step needs 'version'")
    output: MetaQuery = {}
    if legacy_type.simulation:
        metadata = _simulation_metadata(config, path + ("job_config",))
        program = "corsika" if config.only_corsika else legacy_type.program
        category = "airshower_sim" if config.only_corsika else legacy_type.category
        version = config.version
        if "sct" in metadata and "-sc" not in version:
            version += "-sc"  # the sim_telarray build with SCTs (CTADIRAC's MCPipeJob.set_sct)
        for key in ("array_layout", "site", "particle"):
            output[key] = condition(metadata.get(key, SIMULATION_DEFAULTS.get(key)))
        output["phiP"] = condition(metadata["phiP"])
        output["thetaP"] = condition(metadata.get("thetaP", SIMULATION_DEFAULTS["thetaP"]))
        output["sct"] = condition(metadata.get("sct", "False"))
        output[f"{category}_prog"] = condition(program)
        output[f"{category}_prog_version"] = condition(version)
        output["data_level"] = condition(_level_number(config.data_level) if config.data_level is not None else -1)
        output["outputType"] = condition("Data")
        output["configuration_id"] = condition(settings["configuration_id"])
        output["MCCampaign"] = condition(settings["MCCampaign"])
        for key in FILE_LEVEL_KEYS:
            if key in metadata:
                output[key] = condition(metadata[key])
    else:
        program = legacy_type.program
        # what the step's metadata is made of: the input query's single values, then Common, then job_config
        given: dict[str, Any] = {}
        for key, cond in (input_query or {}).items():
            values = condition_values(cond)
            given[key] = values[0] if values is not None and len(values) == 1 else dict(cond)
        for key, value in settings.items():
            if key in METADATA_SOURCE_KEYS and value is not None and key not in ("moon", "pointing_dir"):
                if key == "zenith_angle":
                    key, value = translate(key, value, path + ("job_config", key))
                given[key] = value
        for key in PROCESSING_REQUIRED:
            # offline, an unresolved dataset may give them: only a resolved input can be judged
            if given.get(key) is None and resolved:
                raise _err(
                    path + ("input_meta_query",),
                    f"the output metadata of a {legacy_type.name} step needs '{key}'"
                    " (from the parent's output, the dataset, input_meta_query or job_config)",
                )
        for key in ("array_layout", "site", "particle", "phiP", "thetaP"):
            if key in given:
                output[key] = condition(given[key])
        output["sct"] = condition(given["sct"] if given.get("sct") else "False")
        output[f"{legacy_type.category}_prog"] = condition(program)
        output[f"{legacy_type.category}_prog_version"] = condition(config.version)
        level = config.data_level if config.data_level is not None else given.get("data_level")
        output["data_level"] = condition(
            _level_number(level) if isinstance(level, int | str) else legacy_type.data_level
        )
        output["outputType"] = condition("Model" if legacy_type.dirac_type == "Training" else "Data")
        output["configuration_id"] = condition(given["configuration_id"])
        output["MCCampaign"] = condition(given["MCCampaign"])
        if given.get("view_cone") is not None:
            output["view_cone"] = condition(given["view_cone"])
        if given.get("systematics") is not None:
            output["systematics"] = condition(given["systematics"])
        if legacy_type.name == "Merging":
            merged = given.get("merged", 0)
            if isinstance(merged, bool) or not isinstance(merged, int):
                raise _err(path + ("input_meta_query",), f"cannot derive the merge level from merged = {merged!r}")
            output["merged"] = condition(merged + 1)
        if legacy_type.name == "EvnDispProcessing":
            output["merged"] = condition(0)
        file_keys = FILE_LEVEL_KEYS + (("split",) if legacy_type.name in SPLIT_TYPES else ())
        for key in file_keys:
            if key in input_query_keys(input_query):
                output[key] = dict((input_query or {})[key])
        if legacy_type.name == "SimTelProcessing" and config.model_extra and "moon" in config.model_extra:
            moon = config.model_extra["moon"]
            if moon not in MOONS:
                raise _err(path + ("job_config", "moon"), f"unknown moon {moon!r}; allowed: {', '.join(MOONS)}")
            output["nsb"] = condition(MOONS[moon])
        for key in file_keys:
            value = (config.model_extra or {}).get(key)
            if value is not None and not (key == "nsb" and legacy_type.name == "SimTelProcessing"):
                output[key] = condition(_comma_list(value) if key == "div_ang" else value)
    if legacy_type.name == "SimTelProcessing" and "div_ang" in output:
        # CTADIRAC's MCSimTelProcessJob registers each output by its NSB alone: with a div_ang in the file metadata
        # it reads the div_ang as an NSB and crashes (MCPipeJob.build_file_metadata: moon_str unbound)
        if "div_ang" in query:
            where: KeyPath = ("input_meta_query", "div_ang")
        elif "div_ang" in (config.model_extra or {}):
            where = ("job_config", "div_ang")
        else:
            where = ("input_meta_query", "parentID" if parent is not None else "dataset")
        raise _err(
            path + where,
            f"sim_telarray processing records only nsb per output file, but its input has div_ang"
            f" {output['div_ang']} (CTADIRAC 3.3.1 crashes on it); select input files without div_ang",
        )
    if legacy_type.name == "SimTelProcessing" and "=" not in output.get("nsb", {"=": None}):
        raise _err(
            path + ("job_config", "moon"),
            f"sim_telarray processing runs one NSB per job; the input has nsb {output['nsb']}: give moon",
        )
    for query_, where in ((input_query or {}, "input_meta_query"), (output, "job_config")):
        problems = stored_length_problems(query_)
        if problems:
            raise _err(path + (where,), "; ".join(problems))

    native, native_input, where_keys = _native_step(step, legacy_type, query, input_query, output, parent,
                                                    dataset, resolved, path)
    return _Translated(step=native, name=_name(step), path=path, output_query=output, input=native_input,
                       where_keys=where_keys, extra=_extra(config))
