"""Native production file -> :class:`~.plan.Plan`, with every check done before anything reaches DIRAC.

Order of work: expand ``foreach`` steps over the ``matrix``; check names (duplicates), references
(inputs, parents, models: dangling, repeated, of the wrong kind), cycles between steps and between
productions; then, parents first, derive each step's input query (top-level input or union of the parents'
output queries, refined by ``where``), check it against each data parent's output query by DIRAC's
ProdValidator rules, and derive its output query. Errors carry the key path of the offending node; the
loader turns it into file:line:column.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

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
    union_queries,
)
from .models import (
    DEFAULT_SIMULATION_OUTPUTS,
    ApplyModelsStep,
    DatasetInput,
    ExecutableStep,
    MCSimulationStep,
    ProductionFile,
    Step,
)
from .plan import JobDescription, Plan, PlannedProduction, PlannedStep
from .validation import issues_from_validation_error

__all__ = ["DatasetResolver", "KIND_TYPES", "build_plan"]

#: Reads the stored metadata query of a DFC dataset (given by the DIRAC side; offline there is none).
DatasetResolver = Callable[[str], Mapping[str, Any]]

#: DIRAC transformation type of each step kind (``executable`` declares its own).
KIND_TYPES = {
    "ctapipe-process": "DataReprocessing",
    "ctapipe-merge": "Merging",
    "ctapipe-train-energy": "Training",
    "ctapipe-train-classifier": "Training",
    "ctapipe-apply-models": "ApplyModel",
    "mc-simulation": "MCSimulation",
}
#: Program run by each ctapipe kind (recorded as ``analysis_prog``).
KIND_PROGRAMS = {
    "ctapipe-process": "ctapipe-process",
    "ctapipe-merge": "ctapipe-merge",
    "ctapipe-train-energy": "ctapipe-train-energy-regressor",
    "ctapipe-train-classifier": "ctapipe-train-particle-classifier",
    "ctapipe-apply-models": "ctapipe-apply-models",
}
TRAINING_KINDS = ("ctapipe-train-energy", "ctapipe-train-classifier")

#: ``$name`` or ``${name}`` (braces when letters follow, or inside a YAML flow ``[...]``/``{...}`` only
#: quoted); ``$$`` is a literal ``$``.
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


@dataclass
class _Expanded:
    """A step after matrix expansion."""

    spec: Any
    production: str
    path: KeyPath
    origin: str

    @property
    def name(self) -> str:
        return self.spec.name


def _error(path: KeyPath, message: str) -> SpecLinkError:
    return SpecLinkError([Issue(message=message, path=path)])


# ------------------------------------------------------------------------------------------- expansion
def _substitute(value: Any, variables: Mapping[str, Any], path: KeyPath) -> Any:
    if isinstance(value, str):
        found = [match for match in _VARIABLE.finditer(value) if not match.group(3)]
        if not found:
            return value.replace("$$", "$")
        for match in found:
            name = match.group(1) or match.group(2)
            if name not in variables:
                known = ", ".join(sorted(variables)) or "none (the step has no foreach)"
                raise _error(path, f"unknown matrix variable '${name}'; variables here: {known}")
        if len(found) == 1 and found[0].span() == (0, len(value)):
            return variables[found[0].group(1) or found[0].group(2)]

        def replace(match: re.Match[str]) -> str:
            if match.group(3):
                return "$"
            name = match.group(1) or match.group(2)
            replacement = variables[name]
            if isinstance(replacement, list):
                raise _error(path, f"'${name}' is a list; a list can only be a whole value")
            return str(replacement)

        return _VARIABLE.sub(replace, value)
    if isinstance(value, Mapping):
        return {key: _substitute(item, variables, path + (key,)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_substitute(item, variables, path + (index,)) for index, item in enumerate(value)]
    return value


def _matrix_entries(spec: ProductionFile, step: Any, path: KeyPath) -> list[tuple[dict[str, Any], str]]:
    names = [step.foreach] if isinstance(step.foreach, str) else list(step.foreach)
    lists = []
    for index, name in enumerate(names):
        if name not in spec.matrix:
            known = ", ".join(spec.matrix) or "none (the file has no matrix)"
            where = path + (("foreach",) if isinstance(step.foreach, str) else ("foreach", index))
            raise _error(where, f"unknown matrix '{name}'; matrices: {known}")
        lists.append([(entry, f"{name}[{number}]") for number, entry in enumerate(spec.matrix[name])])
    entries = []
    for combination in itertools.product(*lists):
        variables: dict[str, Any] = {}
        for entry, _ in combination:
            variables.update(entry)
        entries.append((variables, " x ".join(label for _, label in combination)))
    if step.only:
        known_variables = set().union(*(set(variables) for variables, _ in entries))
        for key in step.only:
            if key not in known_variables:
                raise _error(
                    path + ("only", key),
                    f"'{key}' is not a variable of the foreach matrix; variables: {', '.join(sorted(known_variables))}",
                )

        def keep(variables: Mapping[str, Any]) -> bool:
            for key, wanted in step.only.items():
                allowed = wanted if isinstance(wanted, list) else [wanted]
                if variables.get(key) not in allowed:
                    return False
            return True

        entries = [(variables, label) for variables, label in entries if keep(variables)]
        if not entries:
            raise _error(path + ("only",), "no matrix entry matches 'only'; the step would vanish")
    return entries


def _expand(spec: ProductionFile) -> list[_Expanded]:
    expanded: list[_Expanded] = []
    for p_index, production in enumerate(spec.productions):
        for s_index, step in enumerate(production.steps):
            path: KeyPath = ("productions", p_index, "steps", s_index)
            if step.foreach is None:
                if step.only is not None:
                    raise _error(path + ("only",), "'only' filters a matrix; this step has no 'foreach'")
                entries: list[tuple[dict[str, Any], str | None]] = [({}, None)]
            else:
                entries = list(_matrix_entries(spec, step, path))
            raw = step.model_dump(exclude_unset=True, exclude={"foreach", "only"})
            for variables, label in entries:
                data = _substitute(raw, variables, path)
                if data == raw and label is None:
                    concrete = step
                else:
                    try:
                        concrete = type(step).model_validate(data)
                    except ValidationError as exc:
                        suffix = f" (after expanding {label})" if label else ""
                        raise SpecValidationError(
                            issues_from_validation_error(exc, data, type(step), path, suffix)
                        ) from None
                origin = f"'{concrete.name}' ({label})" if label else f"step '{concrete.name}'"
                expanded.append(_Expanded(concrete, production.name, path, origin))
    return expanded


# ------------------------------------------------------------------------------------------ references
def _closest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_references(spec: ProductionFile, steps: list[_Expanded]) -> dict[str, _Expanded]:
    by_name: dict[str, _Expanded] = {}
    for step in steps:
        if step.name in by_name:
            first = by_name[step.name]
            raise _error(
                step.path + ("name",),
                f"duplicate step name '{step.name}' from {step.origin}; already used by {first.origin}"
                " (step names are unique in the file)",
            )
        by_name[step.name] = step
    production_names: dict[str, int] = {}
    for index, production in enumerate(spec.productions):
        if production.name in production_names:
            raise _error(("productions", index, "name"), f"duplicate production name '{production.name}'")
        production_names[production.name] = index
    for index, production in enumerate(spec.productions):
        for a_index, other in enumerate(production.after):
            if other not in production_names:
                raise _error(
                    ("productions", index, "after", a_index),
                    f"unknown production '{other}'{_closest(other, list(production_names))};"
                    f" productions: {', '.join(production_names)}",
                )
            if other == production.name:
                raise _error(("productions", index, "after", a_index), "a production cannot come after itself")

    names = list(by_name)
    for step in steps:
        spec_step = step.spec
        if getattr(spec_step, "input", None) is not None and spec_step.input not in spec.inputs:
            raise _error(
                step.path + ("input",),
                f"unknown input '{spec_step.input}'{_closest(spec_step.input, list(spec.inputs))};"
                f" inputs: {', '.join(spec.inputs) or 'none (the file has no inputs)'}",
            )
        for field in ("parents", "models"):
            seen: set[str] = set()
            for index, parent in enumerate(getattr(spec_step, field, None) or []):
                where = step.path + (field, index)
                if parent == step.name:
                    raise _error(where, f"step '{step.name}' lists itself in '{field}' (a cycle)")
                if parent not in by_name:
                    raise _error(
                        where,
                        f"unknown step '{parent}' in '{field}' of {step.origin}{_closest(parent, names)}",
                    )
                if parent in seen:
                    raise _error(where, f"'{parent}' is listed twice in '{field}' of {step.origin}")
                seen.add(parent)
        if isinstance(spec_step, ApplyModelsStep):
            if len(spec_step.parents or []) > 1:
                raise _error(
                    step.path + ("parents",),
                    "an apply-models step reads its data from one parent; list the training steps under 'models'",
                )
            for index, model in enumerate(spec_step.models):
                if model in (spec_step.parents or []):
                    raise _error(step.path + ("models", index), f"'{model}' is both a data parent and a model")
                kind = by_name[model].spec.kind
                if kind not in TRAINING_KINDS:
                    raise _error(
                        step.path + ("models", index),
                        f"'{model}' is a {kind} step; models come from {' or '.join(TRAINING_KINDS)} steps",
                    )
    return by_name


def _dependencies(step: Any) -> list[str]:
    return list(getattr(step, "parents", None) or []) + list(getattr(step, "models", None) or [])


def _check_cycles(spec: ProductionFile, steps: list[_Expanded], by_name: dict[str, _Expanded]) -> dict[str, set]:
    edges = {step.name: _dependencies(step.spec) for step in steps}
    cycle = find_cycle([step.name for step in steps], edges)
    if cycle:
        first = by_name[cycle[0]]
        raise _error(first.path + ("parents",), f"cyclic parents: {' -> '.join(cycle)}")
    production_edges: dict[str, set[str]] = {production.name: set(production.after) for production in spec.productions}
    for step in steps:
        for parent in _dependencies(step.spec):
            other = by_name[parent].production
            if other != step.production:
                production_edges[step.production].add(other)
    cycle = find_cycle([production.name for production in spec.productions], production_edges)
    if cycle:
        index = [production.name for production in spec.productions].index(cycle[0])
        raise _error(
            ("productions", index, "name"),
            f"productions depend on each other in a cycle: {' -> '.join(cycle)}"
            " (through step parents or 'after'); a production is created after those it depends on",
        )
    return production_edges


# ----------------------------------------------------------------------------------------------- queries
def _merge(base: MetaQuery, refinements: Mapping[str, Any] | None) -> MetaQuery:
    result = dict(base)
    result.update(normalize_query(refinements))
    return result


def _output_base(input_query: MetaQuery | None) -> MetaQuery:
    return {key: cond for key, cond in (input_query or {}).items() if next(iter(cond)) in LINK_OPERATORS}


def _merge_level(step: _Expanded, input_query: MetaQuery) -> int:
    spec_step = step.spec
    cond = input_query.get("merged")
    values = condition_values(cond) if cond is not None else [0]
    if values is None or len(values) != 1 or not isinstance(values[0], int):
        if spec_step.level is None:
            raise _error(
                step.path + ("parents",),
                f"cannot tell the merge level of {step.origin}: its input has merged = {cond}; set 'level'",
            )
        return spec_step.level
    parent_level = values[0]
    if spec_step.level is not None and spec_step.level != parent_level + 1:
        raise _error(
            step.path + ("level",),
            f"level {spec_step.level} does not follow the input's merge level {parent_level}"
            f" (expected {parent_level + 1})",
        )
    return parent_level + 1


def _kind_metadata(step: _Expanded, input_query: MetaQuery, version: str | None) -> dict[str, Any]:
    spec_step = step.spec
    kind = spec_step.kind
    metadata: dict[str, Any] = {}
    if kind in KIND_PROGRAMS:
        metadata["analysis_prog"] = KIND_PROGRAMS[kind]
        metadata["analysis_prog_version"] = version
    if kind == "ctapipe-process":
        metadata.update(data_level=2, outputType="Data", merged=0)
    elif kind == "ctapipe-merge":
        metadata["merged"] = _merge_level(step, input_query)
    elif kind in TRAINING_KINDS:
        metadata["outputType"] = "Model"
    elif kind == "ctapipe-apply-models":
        metadata.update(data_level=2, outputType="Data")
    elif kind == "mc-simulation":
        category = "airshower_sim" if spec_step.program == "corsika" else "tel_sim"
        metadata.update({f"{category}_prog": spec_step.program, f"{category}_prog_version": version})
        metadata.update(data_level=-1, outputType="Data")
    elif kind == "executable" and spec_step.program_category:
        metadata[f"{spec_step.program_category}_prog"] = spec_step.executable
        if version:
            metadata[f"{spec_step.program_category}_prog_version"] = version
    return metadata


def _set_output(output_query: MetaQuery, key: str, value: Any) -> None:
    if value is None:  # not recorded
        output_query.pop(key, None)
    else:
        output_query[key] = condition(value)


def _outputs(spec_step: Step) -> list[str]:
    """The file patterns a simulation or executable step's jobs collect."""
    if isinstance(spec_step, MCSimulationStep):
        return list(spec_step.outputs or DEFAULT_SIMULATION_OUTPUTS[spec_step.program])
    if isinstance(spec_step, ExecutableStep):
        return list(spec_step.outputs)
    return []


def _setting(step: Any, defaults: Any, name: str, fallback: Any = None) -> Any:
    value = getattr(step, name, None)
    if value is None:
        value = getattr(defaults, name, None)
    return fallback if value is None else value


# ------------------------------------------------------------------------------------------------- build
def build_plan(
    spec: ProductionFile,
    *,
    source: str | None = None,
    dataset_resolver: DatasetResolver | None = None,
) -> Plan:
    """Check ``spec`` and turn it into a plan.

    ``dataset_resolver`` returns the stored metadata query of a DFC dataset; without it (offline), a
    dataset input contributes only its ``where`` refinements and the plan marks the dataset unresolved.
    Raises :class:`~.errors.ProductionSpecError` (with key paths, not yet file positions).
    """
    steps = _expand(spec)
    by_name = _check_references(spec, steps)
    production_edges = _check_cycles(spec, steps, by_name)
    order = topological_order([step.name for step in steps], {s.name: _dependencies(s.spec) for s in steps})

    children: dict[str, list[str]] = {name: [] for name in by_name}
    for step in steps:
        for parent in getattr(step.spec, "parents", None) or []:
            children[parent].append(step.name)

    planned: dict[str, PlannedStep] = {}
    for name in order:
        step = by_name[name]
        planned[name] = _plan_step(spec, step, planned, children, dataset_resolver)

    productions = []
    production_order = topological_order([p.name for p in spec.productions], production_edges)
    specs = {production.name: production for production in spec.productions}
    for production_name in production_order:
        production = specs[production_name]
        productions.append(
            PlannedProduction(
                name=production.name,
                description=production.description,
                after=sorted(production_edges[production.name], key=production_order.index),
                steps=[planned[name] for name in order if by_name[name].production == production.name],
            )
        )
    return Plan(format="native", source=source, productions=productions, base_path=spec.base_path)


def _plan_step(
    spec: ProductionFile,
    step: _Expanded,
    planned: Mapping[str, PlannedStep],
    children: Mapping[str, list[str]],
    dataset_resolver: DatasetResolver | None,
) -> PlannedStep:
    spec_step: Step = step.spec
    defaults = spec.defaults
    kind = spec_step.kind
    version = _setting(spec_step, defaults, "version")
    if version is None and kind != "executable":
        raise _error(step.path, f"no software version for {step.origin}: set 'version' on it or in 'defaults'")

    data_parents = list(getattr(spec_step, "parents", None) or [])
    model_parents = list(getattr(spec_step, "models", None) or [])
    input_name = getattr(spec_step, "input", None)
    dataset: str | None = None
    resolved = True
    input_query: MetaQuery | None
    if isinstance(spec_step, MCSimulationStep):
        input_query = None
    elif input_name is not None:
        source_input = spec.inputs[input_name]
        if isinstance(source_input, DatasetInput):
            dataset = source_input.dataset
            if dataset_resolver is None:
                base: MetaQuery = {}
                resolved = False
            else:
                base = normalize_query(dataset_resolver(dataset))
        else:
            base = normalize_query(source_input.query)
        input_query = _merge(base, spec_step.where)
    else:
        base = union_queries([planned[parent].output_query for parent in data_parents])
        input_query = _merge(base, spec_step.where)
        for index, parent in enumerate(data_parents):
            problems = check_link(input_query, planned[parent].output_query)
            if problems:
                raise _error(
                    step.path + ("parents", index),
                    f"{step.origin} cannot read the output of '{parent}' by DIRAC's link rules: " + "; ".join(problems),
                )
    if input_query is not None and not input_query and resolved:
        raise _error(step.path, f"{step.origin} has an empty input query: it would take every file of the catalog")

    inherit = getattr(spec_step, "inherit", None)
    if inherit is None:
        output_query = _output_base(input_query)
        if kind in TRAINING_KINDS:
            output_query.pop("merged", None)
    else:
        output_query = {key: dict((input_query or {})[key]) for key in inherit if key in (input_query or {})}
    for key, value in (defaults.output or {}).items():
        _set_output(output_query, key, value)
    for key, value in _kind_metadata(step, input_query or {}, version).items():
        output_query[key] = condition(value)
    for key, value in (spec_step.output or {}).items():
        _set_output(output_query, key, value)
    if children[step.name] and not output_query:
        raise _error(step.path + ("output",), f"{step.origin} has children but no output metadata")
    outputs = _outputs(spec_step)
    if children[step.name] and isinstance(spec_step, ExecutableStep) and not outputs:
        raise _error(
            step.path + ("outputs",),
            f"{step.origin} has children ({', '.join(children[step.name])}) but its jobs collect no files: "
            "list the files its program writes in 'outputs' (glob patterns)",
        )
    for query, field in ((input_query or {}, "where"), (output_query, "output")):
        problems = stored_length_problems(query)
        if problems:
            raise _error(step.path + (field,), "; ".join(problems))

    job = JobDescription(
        program=(
            KIND_PROGRAMS.get(kind)
            or (spec_step.executable if isinstance(spec_step, ExecutableStep) else None)
            or (spec_step.program if isinstance(spec_step, MCSimulationStep) else None)
        ),
        version=version,
        options=spec_step.options,
        arguments=spec_step.arguments if isinstance(spec_step, ExecutableStep) else "",
        config=list(spec_step.config),
        cpu_time=_setting(spec_step, defaults, "cpu_time"),
        processors=_setting(spec_step, defaults, "processors", 1),
        tags=list(_setting(spec_step, defaults, "tags", [])),
        sites=list(_setting(spec_step, defaults, "sites", [])),
        banned_sites=list(_setting(spec_step, defaults, "banned_sites", [])),
        input_limit=_setting(spec_step, defaults, "input_limit"),
        jobs=spec_step.jobs if isinstance(spec_step, MCSimulationStep) else None,
        showers=spec_step.showers if isinstance(spec_step, MCSimulationStep) else None,
        outputs=outputs,
        models={model: dict(planned[model].output_query) for model in model_parents},
    )
    return PlannedStep(
        name=step.name,
        kind=kind,
        type=spec_step.transformation_type if isinstance(spec_step, ExecutableStep) else KIND_TYPES[kind],
        production=step.production,
        parents=data_parents + model_parents,
        data_parents=data_parents,
        model_parents=model_parents,
        input=input_name,
        dataset=dataset,
        dataset_resolved=resolved,
        input_query=input_query,
        output_query=output_query,
        group_size=_setting(spec_step, defaults, "group_size", 1),
        plugin=_setting(spec_step, defaults, "plugin", "Standard"),
        description=spec_step.description,
        job=job,
        source=step.path,
    )
